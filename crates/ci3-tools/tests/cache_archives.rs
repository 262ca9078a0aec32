//! The artifacts themselves: hostile and corrupt archives are refused and never cached, and GNU
//! tar and we read each other's.

mod common;

use std::path::Path;

use common::cache::{make_tree, snapshot, Env, Where};
use common::{command, run};

/// Writes a tar.gz with raw headers, so the names really are what a hostile archive carries.
fn hostile_archive(
    path: &Path,
    build: impl FnOnce(&mut tar::Builder<flate2::write::GzEncoder<std::fs::File>>),
) {
    let file = std::fs::File::create(path).unwrap();
    let mut b = tar::Builder::new(flate2::write::GzEncoder::new(
        file,
        flate2::Compression::default(),
    ));
    build(&mut b);
    b.into_inner().unwrap().finish().unwrap();
}

fn raw_entry(
    kind: tar::EntryType,
    name: &[u8],
    link: Option<&[u8]>,
    data: &[u8],
) -> (tar::Header, Vec<u8>) {
    let mut h = tar::Header::new_old();
    h.as_old_mut().name[..name.len()].copy_from_slice(name);
    if let Some(link) = link {
        h.as_old_mut().linkname[..link.len()].copy_from_slice(link);
    }
    h.set_entry_type(kind);
    h.set_mode(0o644);
    h.set_size(data.len() as u64);
    h.set_cksum();
    (h, data.to_vec())
}

#[test]
fn hostile_archives_are_refused() {
    let store = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    let env = Env::new(Where::Dir(store.path().to_path_buf()), work.path());
    type Raw<'a> = (tar::EntryType, &'a [u8], Option<&'a [u8]>);
    let cases: Vec<(&str, Vec<Raw>)> = vec![
        ("dotdot", vec![(tar::EntryType::Regular, b"../x", None)]),
        (
            "absolute",
            vec![(tar::EntryType::Regular, b"/tmp/ci3-hostile-abs", None)],
        ),
        (
            "symlink-root",
            vec![
                (tar::EntryType::Symlink, b"s", Some(b"/")),
                (tar::EntryType::Regular, b"s/tmp/ci3-hostile-through", None),
            ],
        ),
        (
            "symlink-up",
            vec![
                (tar::EntryType::Symlink, b"a", Some(b"../..")),
                (tar::EntryType::Regular, b"a/x", None),
            ],
        ),
        (
            "hardlink-out",
            vec![(tar::EntryType::Link, b"h", Some(b"/etc/passwd"))],
        ),
        ("device", vec![(tar::EntryType::Char, b"dev", None)]),
        ("fifo", vec![(tar::EntryType::Fifo, b"fifo", None)]),
    ];
    for (case, entries) in cases {
        let name = format!("hostile-{case}.tar.gz");
        hostile_archive(&store.path().join(&name), |b| {
            b.append(
                &raw_entry(tar::EntryType::Regular, b"ok.txt", None, b"fine\n").0,
                &b"fine\n"[..],
            )
            .unwrap();
            for (kind, path, link) in &entries {
                let (h, data) = raw_entry(
                    *kind,
                    path,
                    *link,
                    if *kind == tar::EntryType::Regular {
                        b"evil\n"
                    } else {
                        b""
                    },
                );
                b.append(&h, &data[..]).unwrap();
            }
        });
        let out_dir = work.path().join("jail").join(case);
        let down = env.run("cache_download", &[&name, out_dir.to_str().unwrap()]);
        assert_eq!(down.code, 1, "{case}: {}", down.stderr);
        assert!(
            down.stderr.contains("Cache download of") && down.stderr.contains("unsafe"),
            "{case}: {}",
            down.stderr
        );
        assert!(
            !out_dir.join("ok.txt").exists(),
            "{case}: nothing half-extracted"
        );
        assert!(
            !work.path().join("x").exists() && !work.path().join("jail/x").exists(),
            "{case}"
        );
        assert!(
            !Path::new("/tmp/ci3-hostile-abs").exists()
                && !Path::new("/tmp/ci3-hostile-through").exists(),
            "{case}"
        );
    }
}

#[test]
fn corrupt_artifacts_are_refused_and_never_cached() {
    let store = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    make_tree(work.path());
    let local = work.path().join("local");
    let env = Env::new(Where::Dir(store.path().to_path_buf()), work.path());
    assert_eq!(env.run("cache_upload", &["c.tar.zst", "build"]).code, 0);
    let good = std::fs::read(store.path().join("c.tar.zst")).unwrap();

    let truncated = good[..good.len() / 2].to_vec();
    let mut flipped = good.clone();
    let mid = flipped.len() / 2;
    flipped[mid] ^= 0x40;
    for (case, bytes) in [("truncated", truncated), ("bit-flipped", flipped)] {
        std::fs::write(store.path().join("c.tar.zst"), &bytes).unwrap();
        let out_dir = work.path().join(format!("out-{case}"));
        std::fs::create_dir_all(&out_dir).unwrap();
        std::fs::write(out_dir.join("existing.txt"), "keep").unwrap();
        let with_local = Env::new(Where::Dir(store.path().to_path_buf()), work.path())
            .var("CACHE_LOCAL_DIR", local.to_str().unwrap());
        let down = with_local.run("cache_download", &["c.tar.zst", out_dir.to_str().unwrap()]);
        assert_eq!(down.code, 1, "{case}");
        assert!(down.stderr.contains("corrupt"), "{case}: {}", down.stderr);
        let left: Vec<_> = std::fs::read_dir(&out_dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(left, ["existing.txt"], "{case}: OUT_DIR untouched");
        let cached: Vec<_> = std::fs::read_dir(&local).unwrap().collect();
        assert!(cached.is_empty(), "{case}: no copy in the local cache");
    }

    // A corrupt local copy is dropped and the good remote one used.
    std::fs::write(store.path().join("c.tar.zst"), &good).unwrap();
    let mut bad = good.clone();
    bad[mid] ^= 1;
    std::fs::write(local.join("c.tar.zst"), &bad).unwrap();
    let with_local = Env::new(Where::Dir(store.path().to_path_buf()), work.path())
        .var("CACHE_LOCAL_DIR", local.to_str().unwrap());
    let down = with_local.run("cache_download", &["c.tar.zst", "healed"]);
    assert_eq!(down.code, 0, "{}", down.stderr);
    assert_eq!(std::fs::read(local.join("c.tar.zst")).unwrap(), good);
}

#[test]
fn gnu_tar_reads_ours_and_we_read_gnu_tars() {
    let store = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    let built = make_tree(work.path());
    let env = Env::new(Where::Dir(store.path().to_path_buf()), work.path());
    assert_eq!(env.run("cache_upload", &["ours.tar.gz", "build"]).code, 0);
    assert_eq!(env.run("cache_upload", &["ours.tar.zst", "build"]).code, 0);
    let gz = work.path().join("gnu-gz");
    std::fs::create_dir_all(&gz).unwrap();
    let out = run(command("tar")
        .arg("-xzf")
        .arg(store.path().join("ours.tar.gz"))
        .arg("-C")
        .arg(&gz));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(snapshot(&gz.join("build")), snapshot(&built));
    let zst = work.path().join("gnu-zst");
    std::fs::create_dir_all(&zst).unwrap();
    let script = format!(
        "zstd -dc {} | tar -x -C {}",
        store.path().join("ours.tar.zst").display(),
        zst.display()
    );
    assert_eq!(run(command("bash").args(["-c", &script])).code, 0);
    assert_eq!(snapshot(&zst.join("build")), snapshot(&built));

    let script = format!(
        "cd {} && tar -czf {}/gnu.tar.gz build && tar -c build | zstd -q -T0 > {}/gnu.tar.zst",
        work.path().display(),
        store.path().display(),
        store.path().display()
    );
    assert_eq!(run(command("bash").args(["-c", &script])).code, 0);
    for name in ["gnu.tar.gz", "gnu.tar.zst"] {
        let dest = work.path().join(format!("from-{name}"));
        let down = env.run("cache_download", &[name, dest.to_str().unwrap()]);
        assert_eq!(down.code, 0, "{name}: {}", down.stderr);
        assert_eq!(snapshot(&dest.join("build")), snapshot(&built), "{name}");
    }
}
