//! Docker image outputs, tagged and pushed with the docker CLI (a stand-in `docker`).

mod common;

use std::path::Path;

use common::tasks::{app, ids, task, Fixture, FILES};

/// A `docker` stand-in on PATH that appends each call to `calls` and fails a push to a
/// repository named `broken`. `pull` brings the image id in the file `registry` into the
/// "engine" (the file `engine`), and `image inspect` prints that id, or fails without one.
fn fake_docker(dir: &Path) -> Vec<(String, String)> {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let script = bin.join("docker");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\necho \"$*\" >> {d}/calls\ncase \"$*\" in\n\
             *broken*) echo denied >&2; exit 1;;\n\
             'pull '*) [ -f {d}/registry ] || {{ echo 'not found' >&2; exit 1; }}; cp {d}/registry {d}/engine;;\n\
             'image inspect '*) [ -f {d}/engine ] || {{ echo 'No such image' >&2; exit 1; }}; cat {d}/engine;;\n\
             esac\n",
            d = dir.display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    vec![(
        "PATH".into(),
        format!("{}:{}", bin.display(), std::env::var("PATH").unwrap()),
    )]
}

#[test]
fn docker_image_outputs_are_tagged_and_pushed_with_the_docker_cli() {
    let image = |n: u8| format!("sha256:{}", format!("{n:02x}").repeat(32));
    let output = "[[Task.Output.DockerImage]]\nidfile = \"image.id\"\n\
        [[Task.Output.DockerImage.RegistryUpload]]\nregistry = \"registry.example.com\"\n\
        repository = \"team/calc\"\ntag = \"{{ gitCommit }}\"\n\
        [[Task.Output.DockerImage.RegistryUpload]]\nrepository = \"calc\"\ntag = \"latest\"\n";
    let mut f = Fixture::committed(&[
        (
            "calc/.app.toml",
            &app(
                "calc",
                &task(
                    "image",
                    "[\"sh\", \"-c\", \"cp next.id image.id\"]",
                    &format!("{FILES}{output}"),
                ),
            ),
        ),
        ("calc/in.txt", "1"),
        (".gitignore", "image.id\nnext.id\n"),
    ]);
    let tmp = tempfile::tempdir().unwrap();
    f.vars = fake_docker(tmp.path());
    f.repo.write("calc/next.id", &image(1));
    let r = f.run("task_run", &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let commit = f.repo.git(&["rev-parse", "HEAD"]).trim().to_string();
    let calls = std::fs::read_to_string(tmp.path().join("calls")).unwrap();
    assert_eq!(
        calls,
        format!(
            "tag {i} registry.example.com/team/calc:{commit}\npush registry.example.com/team/calc:{commit}\n\
             tag {i} calc:latest\npush calc:latest\n",
            i = image(1)
        )
    );
    let run_id = ids(&f, &[])[0].clone();
    let rec: serde_json::Value =
        serde_json::from_str(&f.ok("task_show", &["--format", "json", &run_id])).unwrap();
    let out = &rec["outputs"][0];
    assert_eq!(out["name"], "docker:image.id");
    assert_eq!(
        out["digest"],
        image(1).as_str(),
        "the image id is the digest"
    );
    assert_eq!(
        out["uploads"][0]["uri"],
        format!("docker://registry.example.com/team/calc:{commit}")
    );
    assert!(out["uploads"][0]["duration_us"].is_u64(), "{out}");
    // Same inputs, another image id: reported apart, not an issue.
    f.repo.write("calc/next.id", &image(2));
    f.ok("task_run", &["--force"]);
    let v = f.run("task_verify", &[]);
    assert_eq!(v.code, 0, "{}", v.stdout);
    assert!(
        v.stdout
            .contains("docker images differ (never reproducible, not counted)"),
        "{}",
        v.stdout
    );
    // Restoring an image the engine lacks: pulled from where the run pushed it, checked to be
    // the recorded image, and its id file written.
    let idfile = f.repo.join("calc/image.id");
    let calls = tmp.path().join("calls");
    let pushed = format!("registry.example.com/team/calc:{commit}");
    let inspect = |what: &str| format!("image inspect --format {{{{.Id}}}} {what}\n");
    std::fs::remove_file(&idfile).unwrap();
    std::fs::write(&calls, "").unwrap();
    std::fs::write(tmp.path().join("registry"), image(2)).unwrap();
    let r = f.run("task_restore", &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(std::fs::read_to_string(&idfile).unwrap(), image(2));
    assert_eq!(
        std::fs::read_to_string(&calls).unwrap(),
        format!("{}pull {pushed}\n{}", inspect(&image(2)), inspect(&pushed))
    );
    assert!(
        r.stderr.contains(&format!(
            "calc.image: restored image.id: docker image {} pulled from {pushed}",
            image(2)
        )),
        "{}",
        r.stderr
    );
    // In the engine now: nothing pulled.
    std::fs::remove_file(&idfile).unwrap();
    std::fs::write(&calls, "").unwrap();
    let r = f.run("task_restore", &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(std::fs::read_to_string(&calls).unwrap(), inspect(&image(2)));
    assert!(
        r.stderr.contains("already in the local engine"),
        "{}",
        r.stderr
    );
    assert_eq!(std::fs::read_to_string(&idfile).unwrap(), image(2));
    // The registry now serves another image under every recorded name: refused, no id file.
    std::fs::remove_file(&idfile).unwrap();
    std::fs::remove_file(tmp.path().join("engine")).unwrap();
    std::fs::write(tmp.path().join("registry"), image(9)).unwrap();
    let r = f.run("task_restore", &[]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains(&format!(
            "image.id: image {} is not in the local docker engine and was not pulled: {pushed} is now image {}; calc:latest is now image {}",
            image(2),
            image(9),
            image(9)
        )),
        "{}",
        r.stderr
    );
    assert!(!idfile.exists());
    // A push that fails fails the run.
    f.repo.write(
        "calc/.app.toml",
        &app(
            "calc",
            &task(
                "image",
                "[\"sh\", \"-c\", \"cp next.id image.id\"]",
                &format!("{FILES}{}", output.replace("\"calc\"", "\"broken\"")),
            ),
        ),
    );
    let r = f.run("task_run", &[]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("broken:latest failed (exit status: 1): denied"),
        "{}",
        r.stderr
    );
}
