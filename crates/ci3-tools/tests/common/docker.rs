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

/// The top of this repository (where `test_docker` and `ci3/` are).
pub fn repo_top() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}
