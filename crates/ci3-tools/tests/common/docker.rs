//! The tests' container engine: `test_docker env` starts (once per test run) a private dockerd,
//! a loopback registry and the offline base image; a test that needs them fails saying why
//! when they cannot be had, never skips.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use super::{command, run, Output};

/// Where the engine of this test run answers.
pub struct Engine {
    /// `KEY=VALUE` pairs for the docker CLI and the tools: `DOCKER_HOST`, `DOCKER_CONFIG`,
    /// `DOCKER_BUILDKIT`, `CI3_TEST_REGISTRY`, `CI3_ISOLATE_IMAGE`.
    pub vars: Vec<(String, String)>,
}

/// The engine, started by the first caller of the run; panics with `test_docker`'s reason
/// when it cannot start.
pub fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| {
        let script = repo_top().join("test_docker");
        let out = run(command("bash").arg(&script).arg("env"));
        assert_eq!(
            out.code,
            0,
            "the container engine the docker tests need did not start ({} env):\n{}",
            script.display(),
            out.stderr
        );
        let vars = out
            .stdout
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Engine { vars }
    })
}

impl Engine {
    pub fn var(&self, name: &str) -> &str {
        self.vars
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or_else(|| panic!("test_docker env did not give {name}"))
    }

    /// `127.0.0.1:PORT`, the loopback registry.
    pub fn registry(&self) -> &str {
        self.var("CI3_TEST_REGISTRY")
    }

    /// The offline base image (busybox and bash).
    pub fn image(&self) -> &str {
        self.var("CI3_ISOLATE_IMAGE")
    }

    /// `program` with the test isolation and the engine's variables.
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut cmd = command(program);
        cmd.envs(self.vars.iter().map(|(k, v)| (k, v)));
        cmd
    }

    /// `docker ARGS` against the engine.
    pub fn docker(&self, args: &[&str]) -> Output {
        run(self.command("docker").args(args))
    }

    /// The stdout of `docker ARGS`, trimmed; panics with its stderr when it fails.
    pub fn docker_ok(&self, args: &[&str]) -> String {
        let out = self.docker(args);
        assert_eq!(out.code, 0, "docker {args:?}: {}", out.stderr);
        out.stdout.trim().to_string()
    }

    /// The names of the containers, running or not, whose name is `name`.
    pub fn containers_named(&self, name: &str) -> Vec<String> {
        let filter = format!("name=^/{name}$");
        self.docker_ok(&["ps", "-a", "--format", "{{.Names}}", "--filter", &filter])
            .lines()
            .map(String::from)
            .collect()
    }
}

impl Engine {
    /// The image id (its config's digest) the loopback registry serves as `repository:tag`,
    /// asked over the registry's HTTP API; `None` when it serves nothing under that name.
    pub fn registry_image(&self, repository: &str, tag: &str) -> Option<String> {
        use std::io::{Read, Write};
        let mut conn = std::net::TcpStream::connect(self.registry()).expect("the registry");
        write!(
            conn,
            "GET /v2/{repository}/manifests/{tag} HTTP/1.0\r\nHost: {}\r\n\
             Accept: application/vnd.docker.distribution.manifest.v2+json\r\n\r\n",
            self.registry()
        )
        .unwrap();
        let mut reply = String::new();
        conn.read_to_string(&mut reply).unwrap();
        let (head, body) = reply.split_once("\r\n\r\n").expect("an HTTP reply");
        if !head.starts_with("HTTP/1.0 200") && !head.starts_with("HTTP/1.1 200") {
            return None;
        }
        let manifest: serde_json::Value = serde_json::from_str(body).expect("a JSON manifest");
        Some(manifest["config"]["digest"].as_str()?.to_string())
    }

    /// Builds an image from `dockerfile` (and `files`) in a temp context; its id.
    pub fn build(&self, dockerfile: &str, files: &[(&str, &str)]) -> String {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("Dockerfile"), dockerfile).unwrap();
        for (name, text) in files {
            std::fs::write(dir.path().join(name), text).unwrap();
        }
        let iid = dir.path().join("iid");
        let iid_arg = iid.to_str().unwrap();
        let context = dir.path().to_str().unwrap();
        self.docker_ok(&["build", "-q", "--iidfile", iid_arg, context]);
        std::fs::read_to_string(iid).unwrap().trim().to_string()
    }

    /// Whether the local engine holds the image `reference`.
    pub fn has_image(&self, reference: &str) -> bool {
        self.docker(&["image", "inspect", reference]).code == 0
    }
}

/// The top of this repository (where `test_docker` and `ci3/` are).
pub fn repo_top() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}
