//! Run records in the store, under the prefix the store's naming module reserves for them.
//!
//! One run writes, each create-only and so never overwritten:
//! - `runs/id/RUN.json`: the record itself, complete or absent;
//! - `runs/history/APP.TASK/LATER.RUN.RESULT.DIGEST.DURATION`: the task's history;
//! - `runs/success/APP.TASK/DIGEST.LATER.RUN.COMMIT`, for a success only.
//!
//! `LATER` is the run's start counted down from a fixed far future, so names sort newest first:
//! "the last N runs" and "the latest successful run with this digest" are the first names of one
//! prefix, which a store lists a page at a time; neither reads a record, nor lists a task's
//! whole history (the duration is in microseconds).
//!
//! Run ids start with the UTC time to the microsecond and end with random bits, so they sort by
//! time and two machines sharing a bucket never pick the same one.
//!
//! Records are signed like every small object when a signing key is configured; with trusted
//! keys configured, a record none of them signed is no record: its names alone never make a
//! task `Exist`.

mod names;
mod numbers;
mod queries;

use serde::{Deserialize, Serialize};

use super::inputs::Input;
use crate::clock::{self, days_from_civil};
use crate::digest::Digest;
use crate::store::{Put, Store};
use crate::trust::Trust;
use crate::{Kind, Result, ResultExt};

pub use names::{entry_of_history_name, record_name};
pub use numbers::{is_run_number, is_run_ref, resolve, Numbering};
pub use queries::{
    find_success, history, list_runs, load, load_of, require, success_index, SuccessIndex,
};

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunResult {
    Success,
    Failure,
}

impl RunResult {
    /// `success` or `failure`, as names and listings say it.
    pub fn word(self) -> &'static str {
        match self {
            RunResult::Success => "success",
            RunResult::Failure => "failure",
        }
    }
}

/// An output as it was when the run ended, and where it went.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutputRecord {
    pub name: OutputName,
    pub digest: OutputDigest,
    pub size: u64,
    /// The file's permission bits, for a restore to bring back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<u32>,
    /// Every place it was stored or uploaded to.
    pub uploads: Vec<Upload>,
}

/// One place an output went, and how long putting it there took.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Upload {
    pub uri: String,
    pub duration_us: u64,
}

/// Everything known about one run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    pub id: String,
    pub app: String,
    pub task: String,
    /// Relative to the root.
    pub app_dir: String,
    pub total_digest: Digest,
    pub inputs: Vec<Input>,
    pub outputs: Vec<OutputRecord>,
    /// Unix time in microseconds.
    pub start_us: u64,
    pub stop_us: u64,
    pub result: RunResult,
    /// The command's exit code; `None` when it could not be started or was killed.
    pub exit_code: Option<i32>,
    /// Why a failure failed, in one line.
    pub error: Option<String>,
    pub git_commit: Option<String>,
    pub git_dirty: bool,
    pub host: Option<String>,
}

impl Record {
    /// Whether this record is a success of task `app.task` with inputs `digest`: what a
    /// success name claims, and all a signature binds (the record's name binds its id).
    pub fn is_success_of(&self, app: &str, task: &str, digest: &Digest) -> bool {
        self.result == RunResult::Success
            && self.app == app
            && self.task == task
            && self.total_digest == *digest
    }
}

/// What an output is: a file of the app dir, or a docker image by the file holding its id.
/// Records and listings write it `file:PATH` or `docker:IDFILE`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutputName {
    /// Relative to the app dir.
    File(String),
    /// The id file, relative to the app dir.
    Docker(String),
}

impl OutputName {
    /// `file:PATH` or `docker:IDFILE` read back.
    pub fn parse(text: &str) -> Option<OutputName> {
        if let Some(path) = text.strip_prefix("file:") {
            Some(OutputName::File(path.to_string()))
        } else {
            text.strip_prefix("docker:")
                .map(|idfile| OutputName::Docker(idfile.to_string()))
        }
    }

    /// `file` or `docker`, as listings name the type.
    pub fn kind(&self) -> &'static str {
        match self {
            OutputName::File(_) => "file",
            OutputName::Docker(_) => "docker",
        }
    }
}

impl std::fmt::Display for OutputName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OutputName::File(path) => write!(f, "file:{path}"),
            OutputName::Docker(idfile) => write!(f, "docker:{idfile}"),
        }
    }
}

impl Serialize for OutputName {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for OutputName {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        OutputName::parse(&text)
            .ok_or_else(|| serde::de::Error::custom(format!("{text}: an output of unknown kind")))
    }
}

/// What an output's bytes are: the BLAKE3 digest of a file (`blake3:<hex>`), or the id the
/// docker engine gives an image (`sha256:<hex>`), which is all a run keeps of an image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutputDigest {
    Blake3(Digest),
    Image(String),
}

impl std::fmt::Display for OutputDigest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OutputDigest::Blake3(d) => f.write_str(&d.prefixed()),
            OutputDigest::Image(id) => f.write_str(id),
        }
    }
}

impl Serialize for OutputDigest {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for OutputDigest {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        if text.starts_with("blake3:") {
            return Digest::parse_prefixed(&text)
                .map(OutputDigest::Blake3)
                .ok_or_else(|| serde::de::Error::custom(format!("not a digest: {text}")));
        }
        Ok(OutputDigest::Image(text))
    }
}

/// The store object holding a file output's bytes, as `task_run` stored it.
pub fn object_of(o: &OutputRecord) -> Result<String> {
    match (&o.name, &o.digest) {
        (OutputName::File(_), OutputDigest::Blake3(d)) => Ok(output_object(d)),
        _ => crate::fail!(Corrupt, "{}: not a digest: {}", o.name, o.digest),
    }
}

/// The store object holding the output bytes with digest `d`.
pub fn output_object(d: &Digest) -> String {
    format!("{}outputs/{}", crate::store::names::RUNS, d.to_hex())
}

/// A run as a listing of the task's history shows it, without reading the record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunEntry {
    pub id: String,
    pub result: RunResult,
    pub total_digest: Digest,
    /// How long the run took, in microseconds.
    pub duration_us: u64,
}

impl RunEntry {
    /// When the run started, from its id: Unix time in microseconds.
    pub fn start_us(&self) -> u64 {
        start_of(&self.id)
    }
}

/// A successful run found by its digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub id: String,
    pub git_commit: Option<String>,
}

/// A new run id for a run that starts at `start_us`: `YYYYMMDDTHHMMSSffffff-RANDOM`.
pub fn new_run_id(start_us: u64) -> Result<String> {
    let random = crate::random::bytes::<6>().context("cannot read /dev/urandom")?;
    Ok(format!(
        "{}{:06}-{}",
        clock::utc_compact(start_us / 1_000_000),
        start_us % 1_000_000,
        hex::encode(random)
    ))
}

/// Whether `s` has the shape of a run id (so it cannot be a target: targets have no `-` run
/// of this form and ids no `.`).
pub fn is_run_id(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 34
        && b[8] == b'T'
        && b[21] == b'-'
        && b[..8].iter().chain(&b[9..21]).all(u8::is_ascii_digit)
        && b[22..].iter().all(u8::is_ascii_hexdigit)
}

/// Stores a run: the record first, then the names that make it found. A run whose record was
/// written but not its names is only never matched, which runs it again: nothing is lost.
pub fn write(store: &dyn Store, trust: &Trust, r: &Record) -> Result<()> {
    let json = serde_json::to_vec_pretty(r)?;
    let name = record_name(&r.id);
    if store.put_bytes(&name, &trust.sign_bytes(&name, &json), true)? == Put::AlreadyExists {
        crate::fail!(Failed, "run record {} already exists", r.id);
    }
    // The names below hold the run id, which no other runner picks: one found already there
    // is this run's own write, answered by a retry after a lost response.
    store.put_bytes(&names::history_name(r), r.id.as_bytes(), true)?;
    if r.result == RunResult::Success {
        store.put_bytes(&names::success_name(r), r.id.as_bytes(), true)?;
    }
    Ok(())
}

/// What looking up a digest found: the run, and why candidates were refused.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Lookup {
    pub found: Option<Found>,
    /// One line per run whose names say success but whose record is not to be trusted.
    pub refused: Vec<String>,
}

/// The store to look in: a tiered store (`CI3_READ_STORES`) lists every tier's names, merged.
fn tiers(store: &dyn Store) -> [&dyn Store; 1] {
    [store]
}

/// Which runs of a task's history to list.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Window {
    /// Only runs started after this time (Unix microseconds).
    pub after: Option<u64>,
    /// Only runs started before this time.
    pub before: Option<u64>,
    /// At most this many, the latest.
    pub limit: Option<usize>,
}

/// Unix time in microseconds of the start of run `id` (0 for a malformed one).
pub fn start_of(id: &str) -> u64 {
    let n = |r: std::ops::Range<usize>| id.get(r).and_then(|s| s.parse::<u64>().ok());
    let (Some(y), Some(mo), Some(d), Some(h), Some(mi), Some(s), Some(us)) = (
        n(0..4),
        n(4..6),
        n(6..8),
        n(9..11),
        n(11..13),
        n(13..15),
        n(15..21),
    ) else {
        return 0;
    };
    days_from_civil(y, mo, d) * 86_400_000_000 + (h * 3600 + mi * 60 + s) * 1_000_000 + us
}

/// A date or time as given to `--after`/`--before`/`--from`: a run id (its start), or a date
/// as [`clock::parse_date`] reads it; Unix time in microseconds.
pub fn parse_time(s: &str) -> Result<u64> {
    if is_run_id(s) {
        return Ok(start_of(s));
    }
    // baur's long form, `YYYY.MM.DD-HH:MM:SS-TZ`, as `baur ls runs` prints start times (UTC).
    let s = s
        .strip_suffix("-UTC")
        .filter(|d| d.contains('.'))
        .unwrap_or(s);
    clock::parse_date(s).kind(Kind::Usage)
}

/// A successful run of `calc.build` that started at `start_us` and took 1.5 ms, for tests.
#[cfg(test)]
pub(crate) fn sample(start_us: u64) -> Record {
    Record {
        id: new_run_id(start_us).unwrap(),
        app: "calc".into(),
        task: "build".into(),
        app_dir: "calc".into(),
        total_digest: Digest::of(b"x"),
        inputs: Vec::new(),
        outputs: Vec::new(),
        start_us,
        stop_us: start_us + 1500,
        result: RunResult::Success,
        exit_code: Some(0),
        error: None,
        git_commit: None,
        git_dirty: false,
        host: None,
    }
}

#[cfg(test)]
mod tests {
    use super::names::history_prefix;
    use super::*;
    use crate::store::{DirStore, ReadOnly, Tiered};

    const T0: u64 = 1_700_000_000_000_000;

    fn record(start_us: u64, result: RunResult, digest: &str) -> Record {
        Record {
            total_digest: Digest::from_hex(&digest.repeat(64)).unwrap(),
            result,
            git_commit: Some("c0ffee".into()),
            ..sample(start_us)
        }
    }

    #[test]
    fn history_is_newest_first_and_windows_stop_the_listing() {
        let dir = tempfile::tempdir().unwrap();
        let store = DirStore::new(dir.path().to_path_buf());
        let trust = Trust::new(None, None);
        // Written out of order: the names, not the writing, give the order.
        let mut ids = Vec::new();
        for i in [3u64, 0, 4, 1, 2] {
            let r = record(T0 + i * 1_000_000, RunResult::Success, "a");
            write(&store, &trust, &r).unwrap();
            ids.push((i, r.id));
        }
        ids.sort();
        let id = |i: usize| ids[i].1.clone();
        let got = |w: Window| -> Vec<String> {
            history(&store, "calc", "build", w)
                .unwrap()
                .into_iter()
                .map(|e| e.id)
                .collect()
        };
        assert_eq!(got(Window::default()), [id(4), id(3), id(2), id(1), id(0)]);
        let last2 = Window {
            limit: Some(2),
            ..Default::default()
        };
        assert_eq!(got(last2), [id(4), id(3)]);
        let between = Window {
            after: Some(T0 + 1_000_000),
            before: Some(T0 + 4_000_000),
            limit: None,
        };
        assert_eq!(got(between), [id(3), id(2)], "both ends exclusive");
        let e = &history(&store, "calc", "build", last2).unwrap()[0];
        assert_eq!(e.duration_us, 1500);
        assert_eq!(e.start_us(), T0 + 4_000_000);

        let digest = Digest::from_hex(&"a".repeat(64)).unwrap();
        let found = find_success(&store, &trust, "calc", "build", &digest).unwrap();
        assert_eq!(found.found.unwrap().id, id(4), "the latest success");
        let other = Digest::from_hex(&"b".repeat(64)).unwrap();
        let none = find_success(&store, &trust, "calc", "build", &other).unwrap();
        assert_eq!(none, Lookup::default());
    }

    #[test]
    fn runs_of_the_read_tiers_count_and_failures_are_never_found() {
        let dir = tempfile::tempdir().unwrap();
        let (own, main) = (dir.path().join("pr"), dir.path().join("main"));
        let trust = Trust::new(None, None);
        let old = record(T0, RunResult::Success, "a");
        write(&DirStore::new(main.clone()), &trust, &old).unwrap();
        let tiers = Tiered::new(
            Box::new(DirStore::new(own)),
            vec![ReadOnly::new(Box::new(DirStore::new(main)))],
        );
        let failed = record(T0 + 1, RunResult::Failure, "a");
        write(&tiers, &trust, &failed).unwrap();
        let all: Vec<String> = history(&tiers, "calc", "build", Window::default())
            .unwrap()
            .into_iter()
            .map(|e| e.id)
            .collect();
        assert_eq!(all, [failed.id.clone(), old.id.clone()]);
        let found = find_success(&tiers, &trust, "calc", "build", &old.total_digest).unwrap();
        assert_eq!(
            found.found.unwrap().id,
            old.id,
            "main's success, not the PR's failure"
        );
    }

    #[test]
    fn a_limit_pages_through_names_it_cannot_use() {
        // More unusable names than one page before the runs: the listing goes on.
        let dir = tempfile::tempdir().unwrap();
        let store = DirStore::new(dir.path().to_path_buf());
        let prefix = history_prefix("calc", "build");
        for i in 0..1100 {
            store
                .put_bytes(&format!("{prefix}0{i:04}.junk"), b"", true)
                .unwrap();
        }
        let r = record(T0, RunResult::Success, "a");
        write(&store, &Trust::new(None, None), &r).unwrap();
        let w = Window {
            limit: Some(1),
            ..Default::default()
        };
        let got = history(&store, "calc", "build", w).unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].id, r.id);
    }

    #[test]
    fn ids_sort_by_time_and_are_recognised() {
        let a = new_run_id(1_700_000_000_000_001).unwrap();
        let b = new_run_id(1_700_000_000_000_002).unwrap();
        assert!(a < b, "{a} {b}");
        assert!(a.starts_with("20231114T221320000001-"), "{a}");
        assert!(is_run_id(&a));
        assert!(!is_run_id("calc.build"));
        assert_eq!(clock::rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(clock::rfc3339(951_782_400_000_000), "2000-02-29T00:00:00Z");
        assert_eq!(start_of(&a), 1_700_000_000_000_001);
        assert_eq!(parse_time("2000-02-29").unwrap(), 951_782_400_000_000);
        assert_eq!(
            parse_time("2023-11-14T22:13:20").unwrap(),
            1_700_000_000_000_000
        );
        assert!(parse_time("yesterday").is_err());
        assert_eq!(
            parse_time("2023.11.14-22:13").unwrap(),
            1_699_999_980_000_000
        );
        // The start time `baur ls runs` prints reads back.
        assert_eq!(
            parse_time("2023.11.14-22:13:20-UTC").unwrap(),
            1_700_000_000_000_000
        );
    }

    #[test]
    fn a_record_written_before_typed_digests_reads_and_writes_back_byte_for_byte() {
        let a = "a".repeat(64);
        let b = "b".repeat(64);
        let json = format!(
            r#"{{
  "id": "20231114T221320000001-0123456789ab",
  "app": "calc",
  "task": "build",
  "app_dir": "calc",
  "total_digest": "blake3:{a}",
  "inputs": [
    {{
      "kind": "file",
      "name": "calc/in.txt",
      "digest": "blake3:{b}"
    }}
  ],
  "outputs": [
    {{
      "name": "file:out/x",
      "digest": "blake3:{b}",
      "size": 1,
      "mode": 420,
      "uploads": [
        {{
          "uri": "ci3-store:.ci3/runs/outputs/{b}",
          "duration_us": 7
        }}
      ]
    }},
    {{
      "name": "docker:image.id",
      "digest": "sha256:{a}",
      "size": 0,
      "uploads": []
    }}
  ],
  "start_us": 1700000000000001,
  "stop_us": 1700000000001501,
  "result": "success",
  "exit_code": 0,
  "error": null,
  "git_commit": "c0ffee",
  "git_dirty": false,
  "host": null
}}"#
        );
        let r: Record = serde_json::from_str(&json).unwrap();
        assert_eq!(r.outputs[0].name, OutputName::File("out/x".into()));
        assert_eq!(
            r.outputs[1].digest,
            OutputDigest::Image(format!("sha256:{a}"))
        );
        assert_eq!(serde_json::to_string_pretty(&r).unwrap(), json);
        let bad = json.replace("file:out/x", "tar:out/x");
        assert!(serde_json::from_str::<Record>(&bad).is_err());
    }
}
