//! Docker image outputs with a stand-in `docker` that records its calls: only what the real
//! engine of task_docker_real.rs cannot show offline, an upload with no registry (docker's
//! default one, Docker Hub) named `REPOSITORY:TAG`, and the calls in their order.

mod common;

use std::path::Path;

use common::tasks::{app, ids, task, Fixture, FILES};

/// A `docker` stand-in on PATH that appends each call to `calls` and succeeds, printing
/// nothing: an `image inspect` of it says no size.
fn fake_docker(dir: &Path) -> Vec<(String, String)> {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let script = bin.join("docker");
    let text = format!("#!/bin/sh\necho \"$*\" >> {}/calls\n", dir.display());
    std::fs::write(&script, text).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    vec![(
        "PATH".into(),
        format!("{}:{}", bin.display(), std::env::var("PATH").unwrap()),
    )]
}

#[test]
fn docker_image_outputs_are_tagged_and_pushed_in_order_with_no_registry_meaning_the_default() {
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
             tag {i} calc:latest\npush calc:latest\nimage inspect --format {{{{.Size}}}} {i}\n",
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
    assert_eq!(out["uploads"][1]["uri"], "docker://calc:latest");
    assert_eq!(
        out["size"], 0,
        "an engine that says no size: 0, as baur records it"
    );
}
