//! A shared outage breaker in front of a remote store: once one tool found the store
//! unreachable, the tools started in the next 30 seconds say so at once instead of each waiting
//! out its own timeouts (a bash build runs hundreds of them). A success closes it again.
//!
//! The state is a file per store under `$XDG_CACHE_HOME/ci3/breaker/`, holding the cause.
//! Offline (`CI3_OFFLINE=1`), the breaker is open for good: no request leaves the machine.

use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::error::{Error, Kind, Result};
use crate::store::{Put, Store};

/// How long an outage is believed without asking again.
const OPEN_FOR: Duration = Duration::from_secs(30);

pub struct Breaker {
    inner: Box<dyn Store>,
    state: PathBuf,
    offline: bool,
}

impl Breaker {
    /// `inner` behind a breaker whose state is kept in `dir`.
    pub fn new(inner: Box<dyn Store>, dir: &Path) -> Breaker {
        let id = blake3::hash(inner.describe().as_bytes()).to_hex();
        Breaker {
            state: dir.join(&id.as_str()[..16]),
            inner,
            offline: false,
        }
    }

    /// Offline, the store is never asked.
    pub fn offline(mut self, offline: bool) -> Breaker {
        self.offline = offline;
        self
    }

    /// The recent outage's cause, while the breaker is open.
    fn open(&self) -> Option<String> {
        let md = fs::metadata(&self.state).ok()?;
        let age = SystemTime::now().duration_since(md.modified().ok()?).ok()?;
        if age >= OPEN_FOR {
            return None;
        }
        fs::read_to_string(&self.state).ok()
    }

    fn call<T>(&self, op: impl FnOnce(&dyn Store) -> Result<T>) -> Result<T> {
        if self.offline {
            return Err(Error::new(
                Kind::Unreachable,
                format!(
                    "{} not asked: offline (CI3_OFFLINE=1)",
                    self.inner.describe()
                ),
            ));
        }
        if let Some(cause) = self.open() {
            return Err(Error::new(
                Kind::Unreachable,
                format!(
                    "{} unreachable (recently: {}), skipping",
                    self.inner.describe(),
                    cause.trim()
                ),
            ));
        }
        let result = op(self.inner.as_ref());
        match &result {
            Err(err) if err.is_unreachable() => self.trip(err.message()),
            Err(_) => {}
            Ok(_) => {
                if self.state.exists() {
                    let _ = fs::remove_file(&self.state);
                }
            }
        }
        result
    }

    fn trip(&self, cause: &str) {
        let write = || -> std::io::Result<()> {
            let dir = self.state.parent().expect("a state file has a directory");
            fs::create_dir_all(dir)?;
            let mut tmp = crate::scratch::file_in(dir, "breaker")?;
            tmp.write_all(cause.as_bytes())?;
            tmp.persist(&self.state).map_err(|e| e.error)?;
            Ok(())
        };
        // Only a hint for the next tools: failing to record it changes nothing here.
        let _ = write();
    }
}

impl Store for Breaker {
    fn describe(&self) -> String {
        self.inner.describe()
    }

    fn can_write(&self) -> bool {
        self.inner.can_write()
    }

    fn exists(&self, name: &str) -> Result<bool> {
        self.call(|s| s.exists(name))
    }

    fn get(&self, name: &str, out: &mut dyn std::io::Write) -> Result<bool> {
        self.call(|s| s.get(name, out))
    }

    fn size(&self, name: &str) -> Result<Option<u64>> {
        self.call(|s| s.size(name))
    }

    fn get_sized(
        &self,
        name: &str,
        sized: &mut dyn FnMut(u64),
        out: &mut dyn std::io::Write,
    ) -> Result<bool> {
        self.call(|s| s.get_sized(name, sized, out))
    }

    fn put_file(&self, name: &str, src: &Path, create_only: bool) -> Result<Put> {
        self.call(|s| s.put_file(name, src, create_only))
    }

    fn put_reader(&self, name: &str, reader: &mut dyn Read, create_only: bool) -> Result<Put> {
        self.call(|s| s.put_reader(name, reader, create_only))
    }

    fn put_bytes(&self, name: &str, bytes: &[u8], create_only: bool) -> Result<Put> {
        self.call(|s| s.put_bytes(name, bytes, create_only))
    }

    fn delete(&self, name: &str) -> Result<bool> {
        self.call(|s| s.delete(name))
    }

    fn list(&self, prefix: &str) -> Result<Vec<String>> {
        self.call(|s| s.list(prefix))
    }

    fn list_sorted(&self, prefix: &str, after: Option<&str>, max: usize) -> Result<Vec<String>> {
        self.call(|s| s.list_sorted(prefix, after, max))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A store that is down until told otherwise, counting the calls that reached it.
    struct Flaky {
        down: std::sync::atomic::AtomicBool,
        calls: std::sync::atomic::AtomicU32,
    }

    impl Store for std::sync::Arc<Flaky> {
        fn describe(&self) -> String {
            "flaky".into()
        }
        fn exists(&self, _name: &str) -> Result<bool> {
            self.calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            if self.down.load(std::sync::atomic::Ordering::SeqCst) {
                Err(Error::new(
                    Kind::Unreachable,
                    "connection refused at http://x",
                ))
            } else {
                Ok(true)
            }
        }
        fn get(&self, _: &str, _: &mut dyn std::io::Write) -> Result<bool> {
            unreachable!()
        }
        fn put_file(&self, _: &str, _: &Path, _: bool) -> Result<Put> {
            unreachable!()
        }
        fn put_reader(&self, _: &str, _: &mut dyn Read, _: bool) -> Result<Put> {
            unreachable!()
        }
        fn put_bytes(&self, _: &str, _: &[u8], _: bool) -> Result<Put> {
            unreachable!()
        }
        fn delete(&self, _: &str) -> Result<bool> {
            unreachable!()
        }
        fn list(&self, _: &str) -> Result<Vec<String>> {
            unreachable!()
        }
    }

    #[test]
    fn an_outage_is_believed_by_the_next_tools_until_a_success() {
        let dir = tempfile::tempdir().unwrap();
        let flaky = std::sync::Arc::new(Flaky {
            down: true.into(),
            calls: 0.into(),
        });
        let first = Breaker::new(Box::new(flaky.clone()), dir.path());
        assert!(first.exists("a").unwrap_err().is_unreachable());
        // Another tool, another process: same state directory.
        let second = Breaker::new(Box::new(flaky.clone()), dir.path());
        let err = second.exists("a").unwrap_err();
        assert_eq!(err.kind(), Kind::Unreachable);
        assert_eq!(
            err.message(),
            "flaky unreachable (recently: connection refused at http://x), skipping"
        );
        assert_eq!(flaky.calls.load(std::sync::atomic::Ordering::SeqCst), 1);

        // Once the outage is old news the store is asked again; a success closes the breaker.
        let state = fs::read_dir(dir.path())
            .unwrap()
            .next()
            .unwrap()
            .unwrap()
            .path();
        let old = SystemTime::now() - OPEN_FOR;
        fs::File::options()
            .write(true)
            .open(&state)
            .unwrap()
            .set_modified(old)
            .unwrap();
        flaky.down.store(false, std::sync::atomic::Ordering::SeqCst);
        assert!(second.exists("a").unwrap());
        assert!(!state.exists());
    }

    #[test]
    fn offline_nothing_reaches_the_store() {
        let dir = tempfile::tempdir().unwrap();
        let up = std::sync::Arc::new(Flaky {
            down: false.into(),
            calls: 0.into(),
        });
        let offline = Breaker::new(Box::new(up.clone()), dir.path()).offline(true);
        let err = offline.exists("a").unwrap_err();
        assert_eq!(err.kind(), Kind::Unreachable);
        assert_eq!(err.message(), "flaky not asked: offline (CI3_OFFLINE=1)");
        assert_eq!(up.calls.load(std::sync::atomic::Ordering::SeqCst), 0);
        assert_eq!(
            fs::read_dir(dir.path()).unwrap().count(),
            0,
            "no outage recorded for the tools that are online"
        );
    }
}
