//! The index reader's saved offset tables: used when they match the index byte for byte,
//! ignored (and rewritten) when damaged or stale, never used without a checksum.

use std::path::Path;
use std::process::Command;

use ci3::git::Index;

fn git(dir: &Path, args: &[&str]) {
    let status = Command::new("git")
        .current_dir(dir)
        .args([
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@t",
            "-c",
            "init.defaultBranch=main",
        ])
        .args(args)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .status()
        .unwrap();
    assert!(status.success(), "git {args:?}");
}

fn paths(index: &Index) -> Vec<Vec<u8>> {
    (0..index.len()).map(|i| index.path(i).to_vec()).collect()
}

fn only_table(dir: &Path) -> std::path::PathBuf {
    let tables: Vec<_> = std::fs::read_dir(dir).unwrap().flatten().collect();
    assert_eq!(tables.len(), 1, "one table per index file");
    tables[0].path()
}

#[test]
fn saved_offsets_are_used_only_while_they_match() {
    let work = tempfile::tempdir().unwrap();
    let tables = tempfile::tempdir().unwrap();
    let repo_dir = work.path();
    git(repo_dir, &["init", "-q"]);
    for d in 0..20 {
        let dir = repo_dir.join(format!("dir {d}/sub"));
        std::fs::create_dir_all(&dir).unwrap();
        for f in 0..15 {
            std::fs::write(
                dir.join(format!("f{f}{}.txt", "x".repeat(f))),
                format!("{d} {f}"),
            )
            .unwrap();
        }
    }
    git(repo_dir, &["add", "-A"]);
    git(repo_dir, &["commit", "-qm", "c"]);
    let repo = gix::open(repo_dir).unwrap();

    let first = Index::open_with_tables(&repo, tables.path()).unwrap();
    assert!(!first.offsets_were_saved());
    assert_eq!(first.len(), 300);
    let expected = paths(&first);
    let table = only_table(tables.path());

    let second = Index::open_with_tables(&repo, tables.path()).unwrap();
    assert!(second.offsets_were_saved());
    assert_eq!(paths(&second), expected);
    assert_eq!(second.prefixed(b"dir 3/").len(), 15);

    // A damaged table is not trusted, and the next run writes a good one.
    let mut bytes = std::fs::read(&table).unwrap();
    let last = bytes.len() - 3;
    bytes[last] ^= 0x40;
    std::fs::write(&table, bytes).unwrap();
    let damaged = Index::open_with_tables(&repo, tables.path()).unwrap();
    assert!(!damaged.offsets_were_saved());
    assert_eq!(paths(&damaged), expected);
    assert!(Index::open_with_tables(&repo, tables.path())
        .unwrap()
        .offsets_were_saved());

    // A changed index is scanned again: the table carries the checksum of the one it describes.
    std::fs::write(repo_dir.join("dir 3/new.txt"), "new").unwrap();
    git(repo_dir, &["add", "dir 3/new.txt"]);
    let changed = Index::open_with_tables(&repo, tables.path()).unwrap();
    assert!(!changed.offsets_were_saved());
    assert_eq!(changed.len(), 301);
    assert!(paths(&changed).contains(&b"dir 3/new.txt".to_vec()));
    assert_eq!(
        only_table(tables.path()),
        table,
        "the table is replaced, not added to"
    );

    // Without a checksum (index.skipHash) nothing identifies the content: always scanned.
    git(
        repo_dir,
        &[
            "-c",
            "index.skipHash=true",
            "update-index",
            "--force-write-index",
        ],
    );
    for _ in 0..2 {
        let unhashed = Index::open_with_tables(&repo, tables.path()).unwrap();
        assert!(!unhashed.offsets_were_saved());
        assert_eq!(unhashed.len(), 301);
    }
}
