//! Which store object each route's entry is (the same for every server, so several share a
//! bucket): artifacts keep their names; logs, kv, list lines and run records live under `.ci3/`,
//! where `.log`, `.kv` and `~` keep an entry `a` apart from the entries under `a/`.

use crate::error::{Error, Result};

/// `/logs/ID`: where `cache_log` writes its logs too.
pub fn log(id: &str) -> String {
    format!("{}{id}.log", crate::store::names::LOGS)
}

/// The objects of the logs directly under PREFIX start with this (the logs' root for none).
pub fn log_dir(prefix: &str) -> String {
    match prefix {
        "" => crate::store::names::LOGS.to_string(),
        p => format!("{}{p}/", crate::store::names::LOGS),
    }
}

/// `/kv/KEY`
pub fn kv(key: &str) -> String {
    format!(".ci3/kv/{key}.kv")
}

/// Every line of list NAME is an object under this.
pub fn list_dir(name: &str) -> String {
    format!(".ci3/lists/{name}/~/")
}

/// A list line pushed at `micros`: a countdown, so the newest sorts first, and 8 random hex
/// digits, so two pushes in one microsecond are two objects.
pub fn list_entry(name: &str, micros: u64, random: [u8; 4]) -> String {
    format!(
        "{}{}-{}",
        list_dir(name),
        countdown(&micros.to_string()).expect("20 digits hold a u64"),
        hex::encode(random)
    )
}

/// Every run record of SECTION is an object under this.
pub fn run_dir(section: &str) -> String {
    format!(".ci3/ci-runs/{section}/~/")
}

/// `/runs/SECTION/ID`: named by the countdown of ID, so the newest run sorts first.
pub fn run(section: &str, id: &str) -> Result<String> {
    Ok(format!("{}{}.json", run_dir(section), countdown(id)?))
}

/// The digits of a countdown: the nines' complement of `digits` left-padded to 20, so a later
/// (larger) number sorts earlier.
fn countdown(digits: &str) -> Result<String> {
    const WIDTH: usize = 20;
    if digits.is_empty() || digits.len() > WIDTH || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Error::usage(format!(
            "bad path: a run id is 1 to {WIDTH} digits, not '{digits}'"
        )));
    }
    let padded = format!("{digits:0>WIDTH$}");
    Ok(padded
        .bytes()
        .map(|b| char::from(b'9' - (b - b'0')))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_of_entries() {
        assert_eq!(log("a/b"), ".ci3/logs/a/b.log");
        assert_eq!(log_dir("t/1"), ".ci3/logs/t/1/");
        assert_eq!(kv("k"), ".ci3/kv/k.kv");
        assert_eq!(
            run("prs", "1712345678901234").unwrap(),
            ".ci3/ci-runs/prs/~/99998287654321098765.json"
        );
        assert!(run("prs", &"1".repeat(21)).is_err());
        let (early, late) = (
            list_entry("l", 1_000_000, [0; 4]),
            list_entry("l", 1_000_001, [0xff; 4]),
        );
        assert!(late < early, "newest first: {late} {early}");
        assert_eq!(early, ".ci3/lists/l/~/99999999999998999999-00000000");
    }
}
