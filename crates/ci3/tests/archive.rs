//! The archive layer on real files: round trips, GNU tar/zstd interop, hostile archives,
//! corrupt artifacts, list and verify.

use std::collections::BTreeMap;
use std::fs::{self, File, Permissions};
use std::io::Write;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

use ci3::archive::{self, archive_error, ArchiveError, Compression, Corruption, EntryKind, Packed};
use tempfile::TempDir;

const BOTH: [Compression; 2] = [Compression::Gzip, Compression::Zstd];

// ---------------------------------------------------------------------------------------------
// Helpers

fn set_mtime(path: &Path, secs: u64) {
    let t = filetime::FileTime::from_unix_time(secs as i64, 0);
    filetime::set_symlink_file_times(path, t, t).unwrap();
}

fn write(path: &Path, data: &[u8], mode: u32) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, data).unwrap();
    fs::set_permissions(path, Permissions::from_mode(mode)).unwrap();
}

/// A tree with every kind of thing an artifact holds, with distinct modes and mtimes.
fn sample_tree(root: &Path) {
    fs::create_dir_all(root).unwrap();
    write(&root.join("a.txt"), b"hello\n", 0o644);
    write(&root.join("bin/tool"), b"#!/bin/sh\necho hi\n", 0o755);
    let blob: Vec<u8> = (0..200_000u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    write(&root.join("nested/deep/er/file.bin"), &blob, 0o600);
    write(&root.join("lib/libx.so.1"), b"\x7fELF pretend", 0o755);
    std::os::unix::fs::symlink("libx.so.1", root.join("lib/libx.so")).unwrap();
    std::os::unix::fs::symlink("../../a.txt", root.join("nested/deep/up")).unwrap();
    fs::create_dir_all(root.join("empty")).unwrap();
    fs::set_permissions(root.join("empty"), Permissions::from_mode(0o750)).unwrap();
    write(&root.join("spaced name ü.txt"), b"unicode", 0o640);
    let long = format!("long/{}/{}", "d".repeat(90), "f".repeat(120));
    write(&root.join(long), b"long name", 0o644);
    write(&root.join("hl/one"), b"shared inode", 0o644);
    fs::hard_link(root.join("hl/one"), root.join("hl/two")).unwrap();
    write(&root.join("ro/file"), b"read only", 0o444);

    // mtimes last, deepest first, so creating children does not disturb their parents'.
    let mut all: Vec<PathBuf> = walk(root);
    all.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
    for (i, p) in all.iter().enumerate() {
        set_mtime(p, 1_600_000_000 + i as u64 * 1000);
    }
    fs::set_permissions(root.join("ro"), Permissions::from_mode(0o555)).unwrap();
}

fn walk(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in fs::read_dir(root).unwrap() {
        let p = e.unwrap().path();
        if fs::symlink_metadata(&p).unwrap().is_dir() {
            out.extend(walk(&p));
        }
        out.push(p);
    }
    out
}

#[derive(Debug, PartialEq, Eq)]
enum Item {
    File {
        mode: u32,
        mtime: i64,
        data: Vec<u8>,
    },
    Dir {
        mode: u32,
        mtime: i64,
    },
    Link {
        target: PathBuf,
        mtime: i64,
    },
}

/// Everything under `root` (excluding `root`), as relative paths.
fn snapshot(root: &Path) -> BTreeMap<PathBuf, Item> {
    walk(root)
        .into_iter()
        .map(|p| {
            let md = fs::symlink_metadata(&p).unwrap();
            let item = if md.file_type().is_symlink() {
                Item::Link {
                    target: fs::read_link(&p).unwrap(),
                    mtime: md.mtime(),
                }
            } else if md.is_dir() {
                Item::Dir {
                    mode: md.mode() & 0o7777,
                    mtime: md.mtime(),
                }
            } else {
                Item::File {
                    mode: md.mode() & 0o7777,
                    mtime: md.mtime(),
                    data: fs::read(&p).unwrap(),
                }
            };
            (p.strip_prefix(root).unwrap().to_path_buf(), item)
        })
        .collect()
}

fn pack_tree(src: &Path, compression: Compression) -> (Vec<u8>, Packed) {
    let mut out = Vec::new();
    let packed = archive::pack(&[PathBuf::from(".")], src, compression, &mut out).unwrap();
    (out, packed)
}

fn ext(c: Compression) -> &'static str {
    match c {
        Compression::Gzip => "tar.gz",
        Compression::Zstd => "tar.zst",
    }
}

fn sh(script: &str) -> std::process::Output {
    let out = Command::new("bash")
        .arg("-c")
        .arg(format!("set -euo pipefail; {script}"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{script}\nstdout: {}\nstderr: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn zstd(data: &[u8]) -> Vec<u8> {
    zstd::encode_all(data, 3).unwrap()
}

fn compress(c: Compression, data: &[u8]) -> Vec<u8> {
    match c {
        Compression::Gzip => gzip(data),
        Compression::Zstd => zstd(data),
    }
}

fn err_of(r: ci3::Result<impl std::fmt::Debug>) -> ci3::Error {
    match r {
        Ok(v) => panic!("expected an error, got {v:?}"),
        Err(e) => e,
    }
}

fn corruption(e: &ci3::Error) -> Corruption {
    match archive_error(e) {
        Some(ArchiveError::Corrupt(c)) => c.clone(),
        other => panic!("expected a corrupt-archive error, got {other:?} ({e:#})"),
    }
}

/// Relative paths of everything under `root`, for "nothing else was written" checks.
fn listing(root: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = walk(root)
        .into_iter()
        .map(|p| p.strip_prefix(root).unwrap().to_path_buf())
        .collect();
    v.sort();
    v
}

// ---------------------------------------------------------------------------------------------
// Round trips and interop

#[test]
fn compression_follows_the_name() {
    assert_eq!(Compression::for_name("x-3f9c.tar.gz"), Compression::Gzip);
    assert_eq!(
        Compression::for_name("barretenberg-3f9c.zst"),
        Compression::Zstd
    );
    assert_eq!(Compression::for_name("odd.tar"), Compression::Gzip);
    assert_eq!(Compression::for_name("a.zst.gz"), Compression::Gzip);
}

#[test]
fn round_trip_preserves_the_tree() {
    for c in BOTH {
        let tmp = TempDir::new().unwrap();
        let src = tmp.path().join("src");
        sample_tree(&src);
        let (bytes, packed) = pack_tree(&src, c);
        assert_eq!(packed.total_len, bytes.len() as u64);
        assert_eq!(
            packed.digest.0,
            *blake3::hash(&bytes[..packed.compressed_len as usize]).as_bytes()
        );

        let out = tmp.path().join("out/not/yet/there");
        let unpacked = archive::unpack(&bytes[..], c, &out).unwrap();
        assert_eq!(unpacked.digest, Some(packed.digest));
        assert_eq!(snapshot(&src), snapshot(&out), "{c:?}");
        let one = fs::metadata(out.join("hl/one")).unwrap();
        let two = fs::metadata(out.join("hl/two")).unwrap();
        assert_eq!(one.ino(), two.ino(), "hardlinks stay hardlinks");
        assert_eq!(
            fs::read(out.join("lib/libx.so")).unwrap(),
            b"\x7fELF pretend"
        );
        assert!(listing(&out)
            .iter()
            .all(|p| !p.to_string_lossy().contains(".ci3-staging")));
    }
}

#[test]
fn pack_is_deterministic_and_names_paths_as_given() {
    let tmp = TempDir::new().unwrap();
    let src = tmp.path().join("src");
    sample_tree(&src);
    let a = pack_tree(&src, Compression::Gzip).0;
    let b = pack_tree(&src, Compression::Gzip).0;
    assert_eq!(a, b);

    // Names are the paths as given; an absolute path loses its leading '/'.
    let abs = src.join("bin");
    let mut out = Vec::new();
    archive::pack(
        &[PathBuf::from("a.txt"), abs.clone()],
        &src,
        Compression::Zstd,
        &mut out,
    )
    .unwrap();
    let names: Vec<PathBuf> = archive::list(&out[..], Compression::Zstd)
        .unwrap()
        .into_iter()
        .map(|e| e.path)
        .collect();
    let abs_name = abs.strip_prefix("/").unwrap().to_path_buf();
    assert_eq!(
        names,
        vec![
            PathBuf::from("a.txt"),
            abs_name.clone(),
            abs_name.join("tool")
        ]
    );
}

#[test]
fn missing_input_is_named() {
    let tmp = TempDir::new().unwrap();
    write(&tmp.path().join("there"), b"x", 0o644);
    let mut out = Vec::new();
    let e = err_of(archive::pack(
        &[PathBuf::from("there"), PathBuf::from("not-there")],
        tmp.path(),
        Compression::Gzip,
        &mut out,
    ));
    assert!(
        matches!(archive_error(&e), Some(ArchiveError::MissingInput(p)) if p == Path::new("not-there"))
    );
    assert!(e.to_string().contains("not-there"));
    assert!(
        out.is_empty(),
        "nothing is written before the inputs are checked"
    );
}

#[test]
fn pack_refuses_links_extraction_would_refuse() {
    for target in ["/usr/bin/python3", "../../outside", "x/../y"] {
        let tmp = TempDir::new().unwrap();
        let src = tmp.path().join("src");
        fs::create_dir_all(src.join("venv")).unwrap();
        std::os::unix::fs::symlink(target, src.join("venv/python")).unwrap();
        let e = err_of(archive::pack(
            &[PathBuf::from("venv")],
            &src,
            Compression::Gzip,
            Vec::new(),
        ));
        let msg = format!("{e:#}");
        assert!(
            msg.contains("venv/python") && msg.contains("extraction would refuse"),
            "{msg}"
        );
    }
}

#[test]
fn pack_blames_the_output_when_it_fails() {
    struct Full;
    impl Write for Full {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            Err(std::io::Error::other("disk full"))
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let tmp = TempDir::new().unwrap();
    let src = tmp.path().join("src");
    sample_tree(&src);
    for c in BOTH {
        let e = err_of(archive::pack(&[PathBuf::from(".")], &src, c, Full));
        let msg = format!("{e:#}");
        assert!(
            msg.starts_with("cannot write the archive") && msg.contains("disk full"),
            "{msg}"
        );
    }
}

#[test]
fn gnu_tools_extract_our_archives() {
    for c in BOTH {
        let tmp = TempDir::new().unwrap();
        let src = tmp.path().join("src");
        sample_tree(&src);
        let (bytes, _) = pack_tree(&src, c);
        let file = tmp.path().join(format!("a.{}", ext(c)));
        fs::write(&file, &bytes).unwrap();
        let dest = tmp.path().join("gnu");
        fs::create_dir(&dest).unwrap();
        let out = match c {
            Compression::Gzip => {
                sh(&format!("gzip -t '{}'", file.display()));
                sh(&format!(
                    "tar -xzf '{}' -C '{}'",
                    file.display(),
                    dest.display()
                ))
            }
            Compression::Zstd => {
                sh(&format!("zstd -q -t '{}'", file.display()));
                sh(&format!(
                    "zstd -q -d -c '{}' | tar -x -C '{}'",
                    file.display(),
                    dest.display()
                ))
            }
        };
        assert!(
            out.stderr.is_empty(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(snapshot(&src), snapshot(&dest), "{c:?}");
    }
}

#[test]
fn we_extract_gnu_archives() {
    for c in BOTH {
        let tmp = TempDir::new().unwrap();
        let src = tmp.path().join("src");
        sample_tree(&src);
        let file = tmp.path().join(format!("a.{}", ext(c)));
        match c {
            Compression::Gzip => sh(&format!(
                "tar -czf '{}' -C '{}' .",
                file.display(),
                src.display()
            )),
            Compression::Zstd => sh(&format!(
                "tar -cf - -C '{}' . | zstd -q -T0 -c > '{}'",
                src.display(),
                file.display()
            )),
        };
        let out = tmp.path().join("out");
        let unpacked = archive::unpack(File::open(&file).unwrap(), c, &out).unwrap();
        assert_eq!(unpacked.digest, None, "GNU archives carry no trailer");
        assert_eq!(snapshot(&src), snapshot(&out), "{c:?}");
        let verified = archive::verify(File::open(&file).unwrap(), c).unwrap();
        assert_eq!(verified.digest, None);
        assert_eq!(verified.compressed_len, fs::metadata(&file).unwrap().len());
    }
}

#[test]
fn extraction_replaces_files_and_merges_directories() {
    for c in BOTH {
        let tmp = TempDir::new().unwrap();
        let src = tmp.path().join("src");
        sample_tree(&src);
        let (bytes, _) = pack_tree(&src, c);
        let out = tmp.path().join("out");
        write(&out.join("a.txt"), b"stale", 0o600);
        write(&out.join("nested/mine.txt"), b"unrelated", 0o644);
        write(
            &out.join("empty"),
            b"a file where the archive has a directory",
            0o644,
        );
        archive::unpack(&bytes[..], c, &out).unwrap();
        assert_eq!(fs::read(out.join("a.txt")).unwrap(), b"hello\n");
        assert_eq!(fs::read(out.join("nested/mine.txt")).unwrap(), b"unrelated");
        assert!(out.join("empty").is_dir());
        // Extracting twice gives the same tree.
        archive::unpack(&bytes[..], c, &out).unwrap();
        let mut expected = snapshot(&src);
        let mut got = snapshot(&out);
        got.remove(Path::new("nested/mine.txt"));
        // `nested` received a file of ours, but its mode and mtime are the archive's.
        assert_eq!(
            expected.remove(Path::new("nested")),
            got.remove(Path::new("nested"))
        );
        assert_eq!(expected, got);
    }
}

#[test]
fn read_only_directories_are_written_into_and_keep_their_mode() {
    // Re-extracting an artifact with read-only directories must work for a non-root owner
    // (GNU tar fails there); a directory the archive does not list keeps its own mode.
    for c in BOTH {
        let tmp = TempDir::new().unwrap();
        let out = tmp.path().join("out");
        write(&out.join("listed/old"), b"old", 0o444);
        write(&out.join("unlisted/old"), b"old", 0o444);
        fs::set_permissions(out.join("listed"), Permissions::from_mode(0o555)).unwrap();
        fs::set_permissions(out.join("unlisted"), Permissions::from_mode(0o500)).unwrap();
        let bytes = compress(
            c,
            &raw_tar(&[
                Raw::Dir("listed/"),
                Raw::File("listed/old", b"new"),
                Raw::File("unlisted/new", b"new"),
            ]),
        );
        archive::unpack(&bytes[..], c, &out).unwrap();
        assert_eq!(fs::read(out.join("listed/old")).unwrap(), b"new");
        assert_eq!(fs::read(out.join("unlisted/new")).unwrap(), b"new");
        let mode = |p: &str| fs::metadata(out.join(p)).unwrap().mode() & 0o7777;
        assert_eq!(mode("listed"), 0o755, "the archive's mode");
        assert_eq!(mode("unlisted"), 0o500, "its own mode, put back");
        fs::set_permissions(out.join("unlisted"), Permissions::from_mode(0o755)).unwrap();
    }
}

#[test]
fn a_file_over_an_existing_directory_is_refused_untouched() {
    let tmp = TempDir::new().unwrap();
    let src = tmp.path().join("src");
    write(&src.join("a"), b"file", 0o644);
    write(&src.join("b"), b"file", 0o644);
    let (bytes, _) = pack_tree(&src, Compression::Gzip);
    let out = tmp.path().join("out");
    write(&out.join("b/keep"), b"mine", 0o644);
    let e = err_of(archive::unpack(&bytes[..], Compression::Gzip, &out));
    assert!(e.to_string().contains("is a directory"), "{e:#}");
    assert_eq!(
        listing(&out),
        vec![PathBuf::from("b"), PathBuf::from("b/keep")]
    );
}

// ---------------------------------------------------------------------------------------------
// Hostile archives

enum Raw<'a> {
    File(&'a str, &'a [u8]),
    Dir(&'a str),
    Symlink(&'a str, &'a str),
    Hardlink(&'a str, &'a str),
    CharDevice(&'a str),
    Fifo(&'a str),
}

/// A tar stream with names written raw into the headers: the tar crate's checked setters
/// would refuse `..` and absolute names, which is exactly what these archives need.
fn raw_tar(entries: &[Raw]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for e in entries {
        let mut h = tar::Header::new_gnu();
        let (name, kind, data, link): (&str, tar::EntryType, &[u8], Option<&str>) = match e {
            Raw::File(n, d) => (n, tar::EntryType::Regular, d, None),
            Raw::Dir(n) => (n, tar::EntryType::Directory, b"", None),
            Raw::Symlink(n, t) => (n, tar::EntryType::Symlink, b"", Some(t)),
            Raw::Hardlink(n, t) => (n, tar::EntryType::Link, b"", Some(t)),
            Raw::CharDevice(n) => (n, tar::EntryType::Char, b"", None),
            Raw::Fifo(n) => (n, tar::EntryType::Fifo, b"", None),
        };
        let field = &mut h.as_old_mut().name;
        assert!(name.len() < field.len());
        field[..name.len()].copy_from_slice(name.as_bytes());
        if let Some(t) = link {
            h.set_link_name_literal(t).unwrap();
        }
        if kind == tar::EntryType::Char {
            h.set_device_major(1).unwrap();
            h.set_device_minor(3).unwrap();
        }
        h.set_entry_type(kind);
        h.set_mode(if kind == tar::EntryType::Directory {
            0o755
        } else {
            0o644
        });
        h.set_mtime(1_600_000_000);
        h.set_size(data.len() as u64);
        h.set_cksum();
        b.append(&h, data).unwrap();
    }
    b.into_inner().unwrap()
}

/// Unpacks a hostile archive into `<tmp>/out` (holding one file of its own) and checks that it
/// was refused as unsafe, naming `entry`, and that nothing changed anywhere under `<tmp>`.
fn assert_refused(entries: &[Raw], entry: &str) {
    for c in BOTH {
        let tmp = TempDir::new().unwrap();
        let out = tmp.path().join("out");
        write(&out.join("keep.txt"), b"mine", 0o644);
        let before = listing(tmp.path());
        let bytes = compress(c, &raw_tar(entries));
        let e = err_of(archive::unpack(&bytes[..], c, &out));
        match archive_error(&e) {
            Some(ArchiveError::Unsafe { entry: named, .. }) => assert_eq!(named, entry, "{e:#}"),
            other => panic!("expected an unsafe-entry error for {entry}, got {other:?}: {e:#}"),
        }
        assert!(e.to_string().contains(entry), "{e}");
        assert_eq!(
            listing(tmp.path()),
            before,
            "{entry} ({c:?}) changed the filesystem"
        );
        assert_eq!(fs::read(out.join("keep.txt")).unwrap(), b"mine");
    }
}

#[test]
fn refuses_parent_components() {
    assert_refused(
        &[Raw::File("good.txt", b"ok"), Raw::File("../x", b"evil")],
        "../x",
    );
    assert_refused(
        &[Raw::Dir("d/"), Raw::File("d/../../x", b"evil")],
        "d/../../x",
    );
}

#[test]
fn refuses_absolute_names() {
    let victim = TempDir::new().unwrap();
    let name = format!("{}/abs-victim", victim.path().display());
    assert_refused(
        &[Raw::File("good.txt", b"ok"), Raw::File(&name, b"evil")],
        &name,
    );
    assert!(!victim.path().join("abs-victim").exists());
    assert_refused(
        &[Raw::File("/etc/ci3-test-victim", b"evil")],
        "/etc/ci3-test-victim",
    );
    assert!(!Path::new("/etc/ci3-test-victim").exists());
}

#[test]
fn refuses_symlinks_out_and_writes_through_symlinks() {
    assert_refused(
        &[Raw::Symlink("s", "/"), Raw::File("s/tmp/evil", b"evil")],
        "s",
    );
    assert_refused(
        &[Raw::Symlink("a", "../.."), Raw::File("a/x", b"evil")],
        "a",
    );
    assert_refused(&[Raw::Dir("d/"), Raw::Symlink("d/up", "../../x")], "d/up");
    assert_refused(&[Raw::Symlink("l", "sub/../../x")], "l");
    // Even a symlink that stays inside is never written through.
    assert_refused(
        &[
            Raw::Dir("sub/"),
            Raw::Symlink("s", "sub"),
            Raw::File("s/x", b"evil"),
        ],
        "s/x",
    );
}

#[test]
fn refuses_hardlinks_out() {
    assert_refused(&[Raw::Hardlink("h", "/etc/passwd")], "h");
    assert_refused(&[Raw::Hardlink("h", "../outside")], "h");
    assert_refused(
        &[Raw::Hardlink("h", "later"), Raw::File("later", b"x")],
        "h",
    );
    assert_refused(
        &[
            Raw::Symlink("s", "f"),
            Raw::File("f", b"x"),
            Raw::Hardlink("h", "s"),
        ],
        "h",
    );
}

#[test]
fn refuses_devices_and_fifos() {
    assert_refused(
        &[Raw::File("good.txt", b"ok"), Raw::CharDevice("dev/null2")],
        "dev/null2",
    );
    assert_refused(&[Raw::Fifo("fifo")], "fifo");
}

#[test]
fn refuses_kind_changes_within_an_archive() {
    assert_refused(&[Raw::File("x", b"1"), Raw::Dir("x/")], "x/");
    assert_refused(&[Raw::File("x", b"1"), Raw::File("x/y", b"2")], "x/y");
}

#[test]
fn accepts_inside_links_and_duplicates() {
    for c in BOTH {
        let tmp = TempDir::new().unwrap();
        let bytes = compress(
            c,
            &raw_tar(&[
                Raw::Dir("./"),
                Raw::File("./f", b"first"),
                Raw::File("./f", b"second"),
                Raw::Dir("a/b/"),
                Raw::Symlink("a/b/up", "../../f"),
                Raw::Symlink("a/here", "."),
                Raw::Hardlink("a/hard", "f"),
            ]),
        );
        let out = tmp.path().join("out");
        let unpacked = archive::unpack(&bytes[..], c, &out).unwrap();
        assert_eq!(unpacked.digest, None);
        assert_eq!(fs::read(out.join("f")).unwrap(), b"second");
        assert_eq!(fs::read(out.join("a/b/up")).unwrap(), b"second");
        assert_eq!(fs::read(out.join("a/hard")).unwrap(), b"second");
        assert_eq!(fs::read_link(out.join("a/here")).unwrap(), Path::new("."));
    }
}

#[test]
fn never_follows_a_preexisting_symlink_out() {
    for c in BOTH {
        let tmp = TempDir::new().unwrap();
        let src = tmp.path().join("src");
        write(&src.join("link/file"), b"evil", 0o644);
        write(&src.join("other.txt"), b"fine", 0o644);
        let (bytes, _) = pack_tree(&src, c);
        let elsewhere = tmp.path().join("elsewhere");
        fs::create_dir(&elsewhere).unwrap();
        let out = tmp.path().join("out");
        fs::create_dir(&out).unwrap();
        std::os::unix::fs::symlink(&elsewhere, out.join("link")).unwrap();

        let e = err_of(archive::unpack(&bytes[..], c, &out));
        assert!(
            matches!(archive_error(&e), Some(ArchiveError::Unsafe { entry, .. }) if entry == "link"),
            "{e:#}"
        );
        assert!(listing(&elsewhere).is_empty());
        assert_eq!(listing(&out), vec![PathBuf::from("link")]);

        // A file entry replaces such a symlink itself rather than writing through it.
        let src2 = tmp.path().join("src2");
        write(&src2.join("link"), b"a file now", 0o644);
        let (bytes, _) = pack_tree(&src2, c);
        archive::unpack(&bytes[..], c, &out).unwrap();
        assert_eq!(fs::read(out.join("link")).unwrap(), b"a file now");
        assert!(listing(&elsewhere).is_empty());
    }
}

// ---------------------------------------------------------------------------------------------
// Corrupt artifacts

fn corrupt_case(c: Compression, damage: impl Fn(&mut Vec<u8>)) -> (ci3::Error, TempDir) {
    let tmp = TempDir::new().unwrap();
    let src = tmp.path().join("src");
    sample_tree(&src);
    let (mut bytes, _) = pack_tree(&src, c);
    damage(&mut bytes);
    let out = tmp.path().join("out");
    write(&out.join("keep.txt"), b"mine", 0o644);
    let e = err_of(archive::unpack(&bytes[..], c, &out));
    assert_eq!(
        listing(&out),
        vec![PathBuf::from("keep.txt")],
        "out_dir untouched"
    );
    let v = err_of(archive::verify(&bytes[..], c));
    assert_eq!(corruption(&v), corruption(&e), "verify and unpack agree");
    (e, tmp)
}

#[test]
fn truncated_artifacts_are_refused() {
    for c in BOTH {
        for cut in [2, 3, 5] {
            let (e, _tmp) = corrupt_case(c, |b| b.truncate(b.len() * (cut - 1) / cut));
            assert_eq!(corruption(&e), Corruption::Truncated, "{c:?} {e:#}");
            assert!(e.to_string().contains("corrupt archive: truncated"), "{e}");
        }
        let (e, _tmp) = corrupt_case(c, |b| b.truncate(10));
        assert_eq!(corruption(&e), Corruption::Truncated, "{c:?} {e:#}");
        let (e, _tmp) = corrupt_case(c, |b| b.clear());
        assert_eq!(corruption(&e), Corruption::Truncated, "{c:?} {e:#}");
    }
}

#[test]
fn bit_flips_are_digest_mismatches() {
    for c in BOTH {
        for at in [3, 2, 1] {
            let (e, _tmp) = corrupt_case(c, |b| {
                let i = b.len() / 4 * at;
                b[i] ^= 0x10;
            });
            assert!(
                matches!(corruption(&e), Corruption::DigestMismatch { .. }),
                "{c:?} {e:#}"
            );
            assert!(
                e.to_string()
                    .starts_with("corrupt archive: digest mismatch"),
                "{e}"
            );
        }
        // Damage to the recorded digest itself.
        let (e, _tmp) = corrupt_case(c, |b| {
            let i = b.len() - 20;
            b[i] ^= 1;
        });
        assert!(
            matches!(corruption(&e), Corruption::DigestMismatch { .. }),
            "{c:?} {e:#}"
        );
    }
}

#[test]
fn damaged_archives_without_trailer_are_still_corrupt() {
    for c in BOTH {
        let tmp = TempDir::new().unwrap();
        let src = tmp.path().join("src");
        sample_tree(&src);
        let file = tmp.path().join("gnu");
        match c {
            Compression::Gzip => sh(&format!(
                "tar -czf '{}' -C '{}' .",
                file.display(),
                src.display()
            )),
            Compression::Zstd => sh(&format!(
                "tar -cf - -C '{}' . | zstd -q -c > '{}'",
                src.display(),
                file.display()
            )),
        };
        let mut bytes = fs::read(&file).unwrap();
        let i = bytes.len() / 2;
        bytes[i] ^= 0x10;
        let e = err_of(archive::verify(&bytes[..], c));
        assert!(
            matches!(corruption(&e), Corruption::Malformed(_)),
            "{c:?} {e:#}"
        );
        bytes.truncate(i);
        let e = err_of(archive::verify(&bytes[..], c));
        assert_eq!(corruption(&e), Corruption::Truncated, "{c:?} {e:#}");
    }
}

#[test]
fn trailing_garbage_is_corrupt() {
    for c in BOTH {
        let tmp = TempDir::new().unwrap();
        let src = tmp.path().join("src");
        write(&src.join("f"), b"x", 0o644);
        let (mut bytes, _) = pack_tree(&src, c);
        bytes.extend_from_slice(b"garbage after the trailer");
        let e = err_of(archive::verify(&bytes[..], c));
        assert!(
            matches!(archive_error(&e), Some(ArchiveError::Corrupt(_))),
            "{c:?} {e:#}"
        );
    }
}

#[test]
fn a_failing_source_is_not_called_corrupt() {
    struct Failing<'a>(&'a [u8]);
    impl std::io::Read for Failing<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            if self.0.is_empty() {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::ConnectionReset,
                    "connection reset",
                ));
            }
            let n = buf.len().min(self.0.len()).min(1000);
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }
    for c in BOTH {
        let tmp = TempDir::new().unwrap();
        let src = tmp.path().join("src");
        sample_tree(&src);
        let (bytes, _) = pack_tree(&src, c);
        let out = tmp.path().join("out");
        let e = err_of(archive::unpack(Failing(&bytes[..bytes.len() / 2]), c, &out));
        assert!(archive_error(&e).is_none(), "{e:#}");
        assert!(format!("{e:#}").contains("connection reset"), "{e:#}");
        assert!(!out.exists(), "an out_dir we created is removed again");
    }
}

// ---------------------------------------------------------------------------------------------
// list and verify

#[test]
fn list_and_verify_good_archives() {
    for c in BOTH {
        let tmp = TempDir::new().unwrap();
        let src = tmp.path().join("src");
        sample_tree(&src);
        let (bytes, packed) = pack_tree(&src, c);
        let entries = archive::list(&bytes[..], c).unwrap();
        let find = |p: &str| {
            entries
                .iter()
                .find(|e| e.path == Path::new(p))
                .unwrap_or_else(|| panic!("{p}"))
        };
        let tool = find("bin/tool");
        assert_eq!(
            (tool.kind, tool.mode, tool.size),
            (EntryKind::File, 0o755, 18)
        );
        assert_eq!(find("empty").kind, EntryKind::Dir);
        assert_eq!(find("empty").mode, 0o750);
        let so = find("lib/libx.so");
        assert_eq!(
            (so.kind, so.link.as_deref()),
            (EntryKind::Symlink, Some(Path::new("libx.so.1")))
        );
        assert_eq!(find("hl/two").kind, EntryKind::Hardlink);
        assert_eq!(entries.len(), walk(&src).len());

        let v = archive::verify(&bytes[..], c).unwrap();
        assert_eq!(v.digest, Some(packed.digest));
        assert_eq!(v.compressed_len, packed.compressed_len);
        assert_eq!(v.entries, entries.len() as u64);

        // Without its trailer an archive reads as one from the original scripts.
        let v = archive::verify(&bytes[..packed.compressed_len as usize], c).unwrap();
        assert_eq!(v.digest, None);
    }
}

#[test]
fn list_reports_what_extraction_would_refuse() {
    let bytes = gzip(&raw_tar(&[Raw::File("../x", b"evil"), Raw::Fifo("p")]));
    let entries = archive::list(&bytes[..], Compression::Gzip).unwrap();
    assert_eq!(entries[0].path, Path::new("../x"));
    assert_eq!(entries[1].kind, EntryKind::Fifo);
}

#[test]
fn list_and_verify_refuse_bad_archives() {
    let tmp = TempDir::new().unwrap();
    let src = tmp.path().join("src");
    sample_tree(&src);
    let (bytes, _) = pack_tree(&src, Compression::Zstd);
    let e = err_of(archive::list(&bytes[..bytes.len() / 2], Compression::Zstd));
    assert_eq!(corruption(&e), Corruption::Truncated);
    let mut flipped = bytes.clone();
    flipped[bytes.len() / 3] ^= 4;
    let e = err_of(archive::list(&flipped[..], Compression::Zstd));
    assert!(matches!(corruption(&e), Corruption::DigestMismatch { .. }));
    // The wrong decompressor is a malformed stream, not a crash.
    let e = err_of(archive::verify(&bytes[..], Compression::Gzip));
    assert!(matches!(corruption(&e), Corruption::Malformed(_)), "{e:#}");
}
