//! DockerImage outputs against a real docker engine and registry (test_docker's): a task's
//! `docker build --iidfile` image pushed under every RegistryUpload, recorded by id, restored by
//! pull in a fresh clone and checked by id, a moved tag refused, a refused push failing the run.

mod common;

use common::docker::{engine, Engine};
use common::tasks::{app, ids, task, Fixture};
use common::{run, Output};

const DOCKERFILE: &str = "FROM ci3-base:test\nCOPY in.txt /in.txt\n";
const INPUTS: &str = "[[Task.Input.Files]]\npaths = [\"*.txt\", \"Dockerfile\"]\n";

/// `calc.image`: builds `calc/Dockerfile` with `docker build BUILD_ARGS --iidfile image.id`,
/// an image output pushed to `registry/REPO:TAG` for each `(registry, repository, tag)`.
fn fixture(e: &Engine, build_args: &str, uploads: &[(&str, &str, &str)]) -> Fixture {
    let mut output = "[[Task.Output.DockerImage]]\nidfile = \"image.id\"\n".to_string();
    for (registry, repository, tag) in uploads {
        output.push_str(&format!(
            "[[Task.Output.DockerImage.RegistryUpload]]\nregistry = \"{registry}\"\n\
             repository = \"{repository}\"\ntag = \"{tag}\"\n"
        ));
    }
    let command =
        format!("[\"sh\", \"-c\", \"docker build -q {build_args} --iidfile image.id .\"]");
    let mut f = Fixture::committed(&[
        (
            "calc/.app.toml",
            &app(
                "calc",
                &task("image", &command, &format!("{INPUTS}{output}")),
            ),
        ),
        ("calc/Dockerfile", DOCKERFILE),
        ("calc/in.txt", "1"),
        (".gitignore", "image.id\n"),
    ]);
    f.vars = e.vars.clone();
    f
}

/// A fresh clone of the fixture's repository, next to it, sharing its store.
fn clone(f: &Fixture) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("clone");
    f.repo.git(&["clone", "-q", ".", dest.to_str().unwrap()]);
    dir
}

fn restore_in(f: &Fixture, dir: &std::path::Path) -> Output {
    run(&mut f.cmd_in(dir, "task_restore", &[]))
}

/// Moves `registry/repository:tag` to image `id`, as someone else's push would.
fn move_tag(e: &Engine, name: &str, id: &str) {
    e.docker_ok(&["tag", id, name]);
    e.docker_ok(&["push", name]);
}

#[test]
fn an_image_is_pushed_under_every_upload_recorded_by_id_and_restored_by_pull() {
    let e = engine();
    let reg = e.registry().to_string();
    let repo = format!("real-{}/calc", std::process::id());
    let latest = format!("real-{}/calc-latest", std::process::id());
    let f = fixture(
        e,
        "",
        &[(&reg, &repo, "{{ gitCommit }}"), (&reg, &latest, "latest")],
    );
    let r = f.run("task_run", &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let commit = f.repo.git(&["rev-parse", "HEAD"]).trim().to_string();
    let id = std::fs::read_to_string(f.repo.join("calc/image.id")).unwrap();
    let id = id.trim().to_string();
    assert!(id.starts_with("sha256:"), "{id}");
    let names = [
        format!("{reg}/{repo}:{commit}"),
        format!("{reg}/{latest}:latest"),
    ];
    for name in &names {
        assert!(
            r.stderr.contains(&format!("image {id} pushed to {name}")),
            "{}",
            r.stderr
        );
    }
    // The registry serves that very image under both names.
    assert_eq!(
        e.registry_image(&repo, &commit).as_deref(),
        Some(id.as_str())
    );
    assert_eq!(
        e.registry_image(&latest, "latest").as_deref(),
        Some(id.as_str())
    );
    // The record keeps the image id and where it went.
    let run_id = ids(&f, &[])[0].clone();
    let rec: serde_json::Value =
        serde_json::from_str(&f.ok("task_show", &["--format", "json", &run_id])).unwrap();
    let out = &rec["outputs"][0];
    assert_eq!(out["name"], "docker:image.id");
    assert_eq!(out["digest"], id.as_str());
    // Its size as the engine gives it, as baur records it (listings show it).
    let size = e.docker_ok(&["image", "inspect", "--format", "{{.Size}}", &id]);
    assert_eq!(out["size"].to_string(), size);
    assert_ne!(size, "0");
    let uris: Vec<&str> = out["uploads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["uri"].as_str().unwrap())
        .collect();
    let expected: Vec<String> = names.iter().map(|n| format!("docker://{n}")).collect();
    assert_eq!(uris, expected);
    assert!(out["uploads"][0]["duration_us"].is_u64(), "{out}");
    // baur ls outputs names them.
    let listed = f.ok("baur", &["ls", "outputs", "-q", &run_id]);
    assert_eq!(listed, format!("{}\n", expected.join("\n")));
    let listed = f.ok("baur", &["ls", "outputs", "--csv", &run_id]);
    for uri in &expected {
        let row = listed
            .lines()
            .find(|l| l.starts_with(&format!("{uri},")))
            .unwrap_or_else(|| panic!("no row for {uri}: {listed}"));
        let cells: Vec<&str> = row.split(',').collect();
        assert_eq!(cells[1], id, "{row}");
        assert_eq!((cells[4], cells[5]), ("docker", "docker"), "{row}");
    }

    // A fresh clone on a machine whose engine lacks the image: pulled back by name, checked by
    // id, its id file written.
    let dir = clone(&f);
    let clone_dir = dir.path().join("clone");
    let idfile = clone_dir.join("calc/image.id");
    e.docker_ok(&["rmi", "-f", &id]);
    assert!(!e.has_image(&id));
    let r = restore_in(&f, &clone_dir);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.contains(&format!(
            "calc.image: restored image.id: docker image {id} pulled from {}",
            names[0]
        )),
        "{}",
        r.stderr
    );
    assert_eq!(std::fs::read_to_string(&idfile).unwrap(), id);
    assert!(e.has_image(&id));
    // In the engine now: nothing pulled.
    std::fs::remove_file(&idfile).unwrap();
    let r = restore_in(&f, &clone_dir);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.contains("already in the local engine"),
        "{}",
        r.stderr
    );
    assert_eq!(std::fs::read_to_string(&idfile).unwrap(), id);

    // Someone pushed another image under the commit's tag: that name is refused by id and the
    // next one, still serving the image, is pulled from.
    let other = e.build(
        "FROM ci3-base:test\nCOPY other.txt /other.txt\n",
        &[("other.txt", "other")],
    );
    assert_ne!(other, id);
    move_tag(e, &names[0], &other);
    e.docker_ok(&["rmi", "-f", &id]);
    std::fs::remove_file(&idfile).unwrap();
    let r = restore_in(&f, &clone_dir);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.contains(&format!(
            "calc.image: restored image.id: docker image {id} pulled from {}",
            names[1]
        )),
        "{}",
        r.stderr
    );
    assert_eq!(std::fs::read_to_string(&idfile).unwrap(), id);
    // Both names moved: refused, and no id file.
    move_tag(e, &names[1], &other);
    e.docker_ok(&["rmi", "-f", &id]);
    std::fs::remove_file(&idfile).unwrap();
    let r = restore_in(&f, &clone_dir);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains(&format!(
            "image.id: image {id} is not in the local docker engine and was not pulled: \
             {} is now image {other}; {} is now image {other}",
            names[0], names[1]
        )),
        "{}",
        r.stderr
    );
    assert!(!idfile.exists());
    assert!(!e.has_image(&id));
}

#[test]
fn a_rebuilt_image_differs_apart_and_a_refused_push_fails_the_run() {
    let e = engine();
    let reg = e.registry().to_string();
    let repo = format!("real-{}/rebuilt", std::process::id());
    // --no-cache: every build is a new image id from the same inputs.
    let f = fixture(e, "--no-cache", &[(&reg, &repo, "latest")]);
    f.ok("task_run", &[]);
    let first = std::fs::read_to_string(f.repo.join("calc/image.id")).unwrap();
    f.ok("task_run", &["--force"]);
    let second = std::fs::read_to_string(f.repo.join("calc/image.id")).unwrap();
    assert_ne!(first, second);
    assert_eq!(
        e.registry_image(&repo, "latest").as_deref(),
        Some(second.trim())
    );
    let v = f.run("task_verify", &[]);
    assert_eq!(v.code, 0, "{}", v.stdout);
    assert!(
        v.stdout
            .contains("docker images differ (never reproducible, not counted)"),
        "{}",
        v.stdout
    );

    // The first registry takes the push, the second refuses it (nothing listens there): the
    // run fails naming the name it could not push, and the first holds the image.
    let closed = closed_port();
    let halfway = format!("real-{}/halfway", std::process::id());
    let f = fixture(
        e,
        "",
        &[(&reg, &halfway, "latest"), (&closed, &halfway, "latest")],
    );
    let r = f.run("task_run", &[]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let id = std::fs::read_to_string(f.repo.join("calc/image.id")).unwrap();
    assert_eq!(
        e.registry_image(&halfway, "latest").as_deref(),
        Some(id.trim())
    );
    assert!(
        r.stderr.contains(&format!(
            "docker push {closed}/{halfway}:latest failed (exit status: 1): "
        )),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("connection refused"), "{}", r.stderr);
}

/// `127.0.0.1:PORT` where nothing listens: a port the kernel gave us, closed again.
fn closed_port() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    addr.to_string()
}
