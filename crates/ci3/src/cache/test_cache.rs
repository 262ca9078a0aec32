//! The test cache: one small object per passed test line, `.ci3/tests/KEY`, KEY being
//! `hash_str_orig` of the line (so the line's content hash and knobs are part of it).
//!
//! It takes the place of the original's Redis keys (`SETEX key 604800`): no server beside the
//! store. The body says when and where the test passed; an entry counts as present for the TTL
//! after that time, so a store without expiry rules still forgets old passes. When a ci3 server
//! is the store (`CI3_STORE=ci3+http://`, or `CI3_SERVER` without an explicit `CI3_STORE`), the
//! cache is the server's kv instead, as upstream keeps it: KEY's value is the passing log's id,
//! its ttl `CI3_TEST_CACHE_TTL`, and a signing writer adds `KEY.sig` (a signature over
//! `kv:KEY=VALUE`).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use super::flags::hostname;
use super::policy::WritePolicy;
use crate::ci3_api::{resolve, Backend};
use crate::clock::now_secs;
use crate::error::{Error, Result};
use crate::hash::hash_str_orig;
use crate::settings::Settings;
use crate::store::{names, Store};
use crate::trust::Trust;

/// How many lookups run at once: enough to hide a network round trip 2,000 times over.
const LOOKUP_THREADS: usize = 32;
/// Keys a `POST /kv/mget` asks at most, and such requests in flight.
const MGET_BATCH: usize = 500;
const MGETS_IN_FLIGHT: usize = 8;

/// The test cache as a ci3 server's kv.
pub struct KvCache {
    backend: Backend,
}

/// Whether the store is a ci3 server, as the store selection decides it (`remote::Target`), not
/// `CI3_SERVER` alone: an explicit `CI3_STORE=file://` or `s3://` beside it is the store, and
/// keeps the test cache. A server URL that cannot be right counts: connecting says why.
pub fn store_is_server(settings: &Settings) -> bool {
    !matches!(crate::remote::Target::from_settings(settings), Ok(None))
}

/// The kv test cache when the store is a ci3 server (`None`: the store keeps `.ci3/tests/KEY`);
/// an error when that server does not answer or refuses the credentials.
pub fn server_cache(settings: &Settings) -> Option<Result<KvCache>> {
    if !store_is_server(settings) {
        return None;
    }
    named_api(settings)
}

/// The API of the ci3 server named by `CI3_STORE=ci3+http://` or `CI3_SERVER`, whatever the
/// store: logs and list lines go there even when an explicit store keeps the test cache.
pub fn named_api(settings: &Settings) -> Option<Result<KvCache>> {
    resolve::named_server(settings).filter(|s| !s.is_empty())?;
    let reporter = std::sync::Arc::new(crate::report::Silent);
    Some(resolve::connect(settings, reporter, false).map(|r| KvCache { backend: r.backend }))
}

/// What `KEY.sig` holds for `value`: the signature line `trust` makes over `kv:KEY=VALUE`.
fn kv_signature(trust: &Trust, key: &str, value: &str) -> Option<String> {
    trust.signer()?;
    let signed = trust.sign_bytes(&format!("kv:{key}"), format!("{value}\n").as_bytes());
    let text = String::from_utf8_lossy(&signed).into_owned();
    text.trim_end_matches('\n')
        .rsplit('\n')
        .next()
        .map(str::to_string)
}

impl KvCache {
    /// The backend, for the logs that go with the entries.
    pub fn backend(&self) -> &Backend {
        &self.backend
    }

    /// Records that the test with `key` passed, its log being `log_id`; signed when `trust`
    /// holds a signing key.
    pub fn record(
        &self,
        settings: &Settings,
        trust: &Trust,
        key: &str,
        log_id: &str,
    ) -> Result<()> {
        let ttl = Some(settings.tests.cache_ttl.as_secs().max(1));
        if let Some(signature) = kv_signature(trust, key, log_id) {
            self.backend
                .kv_set(&format!("{key}.sig"), &signature, ttl)?;
        }
        self.backend.kv_set(key, log_id, ttl)
    }

    /// Whether each key has a value (under `CI3_TRUSTED_KEYS`: one a trusted key signed), in
    /// `MGET_BATCH`es, `MGETS_IN_FLIGHT` at once.
    pub fn lookup_all(&self, trust: &Trust, keys: &[String]) -> Vec<Result<bool>> {
        let checks = trust.checks();
        let asked: Vec<String> = match checks {
            true => keys
                .iter()
                .flat_map(|k| [k.clone(), format!("{k}.sig")])
                .collect(),
            false => keys.to_vec(),
        };
        let per = if checks {
            MGET_BATCH / 2 * 2
        } else {
            MGET_BATCH
        };
        let batches: Vec<&[String]> = asked.chunks(per).collect();
        let next = AtomicUsize::new(0);
        let mut answered: Vec<(usize, Vec<String>)> = std::thread::scope(|scope| {
            let workers: Vec<_> = (0..MGETS_IN_FLIGHT.min(batches.len()))
                .map(|_| {
                    scope.spawn(|| {
                        let mut got = Vec::new();
                        loop {
                            let i = next.fetch_add(1, Ordering::Relaxed);
                            let Some(batch) = batches.get(i) else {
                                return got;
                            };
                            got.push((i, self.backend.kv_get(batch)));
                        }
                    })
                })
                .collect();
            workers
                .into_iter()
                .flat_map(|w| w.join().expect("an mget thread panicked"))
                .collect()
        });
        answered.sort_by_key(|(i, _)| *i);
        let values: Vec<String> = answered.into_iter().flat_map(|(_, v)| v).collect();
        if !checks {
            return values.iter().map(|v| Ok(!v.is_empty())).collect();
        }
        keys.iter()
            .zip(values.chunks(2))
            .map(|(key, pair)| {
                let (value, signature) = (&pair[0], &pair[1]);
                if value.is_empty() {
                    return Ok(false);
                }
                let stored = format!("{value}\n{signature}\n");
                // A value no trusted key signed is a miss (a race between writers only costs a
                // run).
                Ok(trust
                    .verify_bytes(&format!("kv:{key}"), stored.as_bytes())
                    .is_ok())
            })
            .collect()
    }
}

/// The key of a test line.
pub fn key(line: &[u8]) -> String {
    hash_str_orig(line)
}

/// What `record` did.
#[derive(Debug)]
pub enum Recorded {
    Recorded,
    /// Only CI records passes: a developer's machine is not a reference.
    NotInCi,
    /// The store needs credentials that are missing.
    NoCredentials,
    /// The store refused or could not be reached; the test still passed.
    Failed(Error),
}

/// Records that `line` passed, now (signed when `trust` holds a signing key).
pub fn record(settings: &Settings, store: &dyn Store, trust: &Trust, line: &[u8]) -> Recorded {
    match super::policy::pass_write(settings, store) {
        WritePolicy::NotInCi => return Recorded::NotInCi,
        WritePolicy::NoCredentials => return Recorded::NoCredentials,
        WritePolicy::Create | WritePolicy::Replace => {}
    }
    let object = match names::test_cache(&key(line)) {
        Ok(object) => object,
        Err(err) => return Recorded::Failed(err),
    };
    let body = body(now_secs(), &hostname(settings), settings.run_url.as_deref());
    let stored = trust.sign_bytes(&object, body.as_bytes());
    match store.put_bytes(&object, &stored, false) {
        Ok(_) => Recorded::Recorded,
        Err(err) => Recorded::Failed(err),
    }
}

/// `time: SECONDS`, `host: NAME` and, when known, `run: URL`, one per line.
pub fn body(time: u64, host: &str, run_url: Option<&str>) -> String {
    let mut body = format!("time: {time}\nhost: {host}\n");
    if let Some(url) = run_url {
        body.push_str(&format!("run: {url}\n"));
    }
    body
}

/// Whether an entry with this body still counts at `now`: its time is less than `ttl` ago (a
/// time slightly ahead, from another machine's clock, counts too). A body without a time does
/// not count: running a test again is the safe answer.
pub fn is_fresh(body: &[u8], now: u64, ttl: Duration) -> bool {
    let Some(time) = String::from_utf8_lossy(body)
        .lines()
        .find_map(|l| l.strip_prefix("time: ")?.trim().parse::<u64>().ok())
    else {
        return false;
    };
    now.saturating_sub(time) < ttl.as_secs()
}

/// Whether the test with this key passed within `ttl`. An entry `trust` refuses is an error of
/// kind `Untrusted`: the test runs, and the caller says why.
pub fn lookup(
    store: &dyn Store,
    trust: &Trust,
    key: &str,
    ttl: Duration,
    now: u64,
) -> Result<bool> {
    let object = names::test_cache(key)?;
    let mut stored = Vec::new();
    if !store.get(&object, &mut stored)? {
        return Ok(false);
    }
    let body = trust.verify_bytes(&object, &stored)?;
    Ok(is_fresh(body, now, ttl))
}

/// `lookup` of every key, several at once; the answers in the keys' order.
pub fn lookup_all(
    store: &dyn Store,
    trust: &Trust,
    keys: &[String],
    ttl: Duration,
) -> Vec<Result<bool>> {
    let now = now_secs();
    let next = AtomicUsize::new(0);
    let threads = keys.len().clamp(1, LOOKUP_THREADS);
    let mut answers: Vec<(usize, Result<bool>)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut found = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(key) = keys.get(i) else {
                            return found;
                        };
                        found.push((i, lookup(store, trust, key, ttl, now)));
                    }
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().expect("a lookup thread panicked"))
            .collect()
    });
    answers.sort_by_key(|(i, _)| *i);
    answers.into_iter().map(|(_, answer)| answer).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::DirStore;

    const DAY: Duration = Duration::from_secs(86400);

    #[test]
    fn the_ttl_counts_from_the_time_in_the_body() {
        let body = body(1_000_000, "h", None);
        assert!(is_fresh(body.as_bytes(), 1_000_000, DAY));
        assert!(is_fresh(body.as_bytes(), 1_000_000 + 86399, DAY));
        assert!(!is_fresh(body.as_bytes(), 1_000_000 + 86400, DAY));
        assert!(is_fresh(body.as_bytes(), 999_000, DAY), "a clock behind");
        assert!(!is_fresh(body.as_bytes(), 1_000_000, Duration::ZERO));
        assert!(!is_fresh(b"host: h\n", 1_000_000, DAY), "no time");
        assert!(!is_fresh(b"time: soon\n", 1_000_000, DAY));
    }

    #[test]
    fn body_lines() {
        assert_eq!(body(5, "box", None), "time: 5\nhost: box\n");
        assert_eq!(
            body(5, "box", Some("https://ci/run/1")),
            "time: 5\nhost: box\nrun: https://ci/run/1\n"
        );
    }

    #[test]
    fn recorded_in_ci_and_found_until_it_expires() {
        let dir = tempfile::tempdir().unwrap();
        let store = DirStore::new(dir.path().to_path_buf());
        let line = b"0123456789abcdef:CPUS=1 ./test.sh";
        let local = Settings::from_vars([("CI", "0")]);
        assert!(matches!(
            record(&local, &store, &Trust::default(), line),
            Recorded::NotInCi
        ));
        let ci = Settings::from_vars([("CI", "1"), ("GITHUB_RUN_URL", "https://ci/r/7")]);
        assert!(matches!(
            record(&ci, &store, &Trust::default(), line),
            Recorded::Recorded
        ));
        let object = dir.path().join(".ci3/tests").join(key(line));
        let text = std::fs::read_to_string(object).unwrap();
        assert!(text.starts_with("time: ") && text.ends_with("run: https://ci/r/7\n"));

        let keys = vec![key(line), key(b"0123456789abcdef ./other.sh")];
        let answers: Vec<bool> = lookup_all(&store, &Trust::default(), &keys, DAY)
            .into_iter()
            .map(Result::unwrap)
            .collect();
        assert_eq!(answers, [true, false]);
        let expired = lookup(&store, &Trust::default(), &keys[0], DAY, now_secs() + 86400).unwrap();
        assert!(!expired);
    }
}
