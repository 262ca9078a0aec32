//! What a server clears by itself: entries past their expiry, every 600 s (a directory store by
//! each file's expiry header; another store by reading each entry's, and an S3 store also drops
//! what went unmodified for `--max-ttl`, as a bucket lifecycle rule would), and at start the
//! scratch files of writers that died mid-upload (a SIGKILL leaves them; their owner's pid is
//! gone).

use std::fs;
use std::io::Read;
use std::path::Path;
use std::time::Duration;

use super::{expiry, reads};
use crate::error::Result;
use crate::store::Store;

/// How often expired entries are removed.
pub const EVERY: Duration = Duration::from_secs(600);

/// Where expiring entries live.
const EXPIRING: [&str; 4] = [".ci3/logs/", ".ci3/kv/", ".ci3/lists/", ".ci3/ci-runs/"];

/// Removes the entries expired at `now`, and in a store that lists modification times those
/// unmodified for `max_age` seconds; how many.
pub fn expired(store: &dyn Store, now: u64, max_age: u64) -> Result<usize> {
    if let Some(root) = store.local_root() {
        let mut removed = 0;
        for kind in EXPIRING {
            removed += expired_below(&root.join(kind), now);
        }
        return Ok(removed);
    }
    let mut removed = 0;
    for kind in EXPIRING {
        let listed = match store.list_modified(kind)? {
            Some(listed) => listed,
            None => store.list(kind)?.into_iter().map(|n| (n, now)).collect(),
        };
        for (name, modified) in listed {
            let stale = now.saturating_sub(modified) >= max_age;
            if (stale || !reads::live(store, &name, now)?) && store.delete(&name)? {
                removed += 1;
            }
        }
    }
    Ok(removed)
}

/// The expired files under `dir`, removed unless replaced since they were read.
fn expired_below(dir: &Path, now: u64) -> usize {
    let Ok(entries) = fs::read_dir(dir) else {
        return 0;
    };
    let mut removed = 0;
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        if name.as_encoded_bytes().starts_with(b".ci3-") {
            continue;
        }
        match entry.file_type() {
            Ok(t) if t.is_dir() => removed += expired_below(&path, now),
            Ok(t) if t.is_file() => {
                let Ok(mut file) = fs::File::open(&path) else {
                    continue;
                };
                let mut head = [0u8; expiry::LEN];
                if file.read_exact(&mut head).is_err()
                    || expiry::of(&head).is_none_or(|at| at > now)
                {
                    continue;
                }
                // A refresh renames a new file over this one: that one is not ours to remove.
                use std::os::unix::fs::MetadataExt;
                let same = match (file.metadata(), fs::metadata(&path)) {
                    (Ok(read), Ok(now)) => read.ino() == now.ino(),
                    _ => false,
                };
                if same && fs::remove_file(&path).is_ok() {
                    removed += 1;
                }
            }
            _ => {}
        }
    }
    removed
}

/// Removes dead writers' scratch files everywhere in a directory store; how many.
pub fn scratch(root: &Path) -> usize {
    let mut removed = crate::scratch::sweep(root, &["put"], &|_| Ok(()))
        .removed
        .len();
    if let Ok(entries) = fs::read_dir(root) {
        for entry in entries.flatten() {
            let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
            if is_dir && !entry.file_name().as_encoded_bytes().starts_with(b".ci3-") {
                removed += scratch(&entry.path());
            }
        }
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::DirStore;

    #[test]
    fn expired_entries_go_and_others_stay() {
        let dir = tempfile::tempdir().unwrap();
        let store = DirStore::new(dir.path().to_path_buf());
        let with = |at: u64, body: &[u8]| [&expiry::header(at)[..], body].concat();
        store
            .put_bytes(".ci3/kv/old.kv", &with(10, b"v"), false)
            .unwrap();
        store
            .put_bytes(".ci3/kv/new.kv", &with(30, b"v"), false)
            .unwrap();
        store.put_bytes(".ci3/kv/forever.kv", b"v", false).unwrap();
        store
            .put_bytes(".ci3/lists/l/~/1-a", &with(10, b"x"), false)
            .unwrap();
        store
            .put_bytes("artifact", &with(10, b"bytes"), false)
            .unwrap();
        assert_eq!(expired(&store, 20, 1000).unwrap(), 2);
        assert!(!store.exists(".ci3/kv/old.kv").unwrap());
        assert!(!store.exists(".ci3/lists/l/~/1-a").unwrap());
        for kept in [".ci3/kv/new.kv", ".ci3/kv/forever.kv", "artifact"] {
            assert!(store.exists(kept).unwrap(), "{kept}");
        }
    }
}
