//! `/_/tests`: the failed-tests feed, and per test its history as a strip of pass/fail/flake
//! marks with durations, its flakes in the last runs and its owners; `/_/test/LIST`: one test.
//!
//! The lines are `run_test_cmd`'s: `failed_tests[_BRANCH]` and `history_HASH[_BRANCH]`, where
//! HASH is `hash_str_orig` of the test's command, so a failed line finds its history.

use std::collections::BTreeMap;
use std::fmt::Write;

use super::html::{duration_ms, esc, page, status_class, url};
use super::logs::{parse_line, TestLine};
use super::{listing, Ctx};

/// Feed lines read per failed-tests list, and rows shown.
const FEED: usize = 200;
/// Tests of the feed given a strip, most failing first.
const STRIPS: usize = 40;
/// The runs a strip and its flake count cover.
pub const LAST_N: usize = 30;

/// A test's history as the strip shows it: its lines, newest first.
struct History {
    list: String,
    lines: Vec<TestLine>,
}

impl History {
    fn flakes(&self) -> usize {
        self.lines.iter().filter(|l| l.status == "FLAKED").count()
    }
}

/// The history list of a test command among `lists` (sorted; any branch's suffix: the first).
fn history(
    ctx: &Ctx,
    lists: &[String],
    command: &str,
    max: usize,
) -> crate::Result<Option<History>> {
    let start = format!("history_{}", crate::hash::hash_str_orig(command.as_bytes()));
    let at = lists.partition_point(|l| l.as_str() < start.as_str());
    let Some(list) = lists.get(at).filter(|l| l.starts_with(&start)).cloned() else {
        return Ok(None);
    };
    let lines = listing::lines(ctx, &list, max)?;
    Ok(Some(History {
        list,
        lines: lines.iter().filter_map(|l| parse_line(l)).collect(),
    }))
}

/// A strip of marks, oldest left: a bar's colour is the result, its height the duration
/// (relative to the longest shown), its title says both.
fn strip(lines: &[TestLine]) -> String {
    let longest = lines
        .iter()
        .filter_map(|l| l.seconds)
        .max()
        .unwrap_or(1)
        .max(1);
    let width = lines.len() * 8 + 2;
    let mut svg = format!(
        "<svg class=\"strip\" width=\"{width}\" height=\"24\" viewBox=\"0 0 {width} 24\" \
         role=\"img\" xmlns=\"http://www.w3.org/2000/svg\">"
    );
    for (i, line) in lines.iter().rev().enumerate() {
        let secs = line.seconds.unwrap_or(0);
        let h = 4 + (secs * 18 / longest) as usize;
        let colour = match line.status.as_str() {
            "PASSED" => "#2e7d32",
            "FLAKED" => "#8e24aa",
            "FAILED" => "#c62828",
            _ => "#999",
        };
        let _ = write!(
            svg,
            "<rect class=\"mark {}\" x=\"{}\" y=\"{}\" width=\"6\" height=\"{h}\" fill=\"{colour}\">\
             <title>{} {}</title></rect>",
            esc(&line.status.to_ascii_lowercase()),
            1 + i * 8,
            23 - h,
            esc(&line.status),
            esc(&duration_ms(secs * 1000))
        );
    }
    svg.push_str("</svg>");
    svg
}

/// `/_/tests`
pub fn feed(ctx: &Ctx) -> crate::Result<String> {
    let owners = owners::load();
    let mut rows: Vec<(String, TestLine)> = Vec::new();
    // Every list's name once: a directory store reads them in one directory listing.
    let lists = listing::lists(ctx, "")?;
    let feeds = lists.iter().filter(|l| l.starts_with("failed_tests"));
    for list in feeds {
        for line in listing::lines(ctx, list, FEED)? {
            if let Some(t) = parse_line(&line) {
                rows.push((list.clone(), t));
            }
        }
    }
    // Lines say MM-DD HH:MM:SS: newest first across lists, within a year.
    rows.sort_by(|a, b| b.1.when.cmp(&a.1.when));
    rows.truncate(FEED);
    let mut body = String::new();
    let mut counts: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for (_, t) in &rows {
        let c = counts.entry(t.command.as_str()).or_default();
        match t.status.as_str() {
            "FLAKED" => c.1 += 1,
            _ => c.0 += 1,
        }
    }
    let mut tests: Vec<(&str, (usize, usize))> = counts.into_iter().collect();
    tests.sort_by(|a, b| (b.1 .0 + b.1 .1).cmp(&(a.1 .0 + a.1 .1)).then(a.0.cmp(b.0)));
    body.push_str(&format!(
        "<h2>Tests that failed or flaked</h2><p class=\"muted\">History: the last {LAST_N} runs, \
         oldest left; green passed, red failed, purple flaked; height is duration.</p>\
         <table class=\"flaky\"><tr><th>Test</th><th>Owners</th><th>Failed</th><th>Flaked \
         (last {LAST_N})</th><th>History</th></tr>"
    ));
    for (command, (failed, _)) in tests.iter().take(STRIPS) {
        let found = history(ctx, &lists, command, LAST_N)?;
        let (flakes, chart, link) = match &found {
            Some(h) => (
                h.flakes().to_string(),
                strip(&h.lines),
                format!("/_/test/{}", url(&h.list)),
            ),
            None => ("–".into(), String::new(), String::new()),
        };
        let name = match link.is_empty() {
            true => format!("<code>{}</code>", esc(command)),
            false => format!("<a href=\"{link}\"><code>{}</code></a>", esc(command)),
        };
        body.push_str(&format!(
            "<tr class=\"test\"><td>{name}</td><td>{}</td><td class=\"num\">{failed}</td>\
             <td class=\"num flakes\">{}</td><td>{chart}</td></tr>",
            esc(&owners.of(command).join(", ")),
            esc(&flakes)
        ));
    }
    body.push_str("</table><h2>Feed</h2>");
    body.push_str(&line_table(
        &rows.iter().map(|(_, t)| t.clone()).collect::<Vec<_>>(),
    ));
    Ok(page("Tests", &body))
}

/// A table of test lines, each linked to its log.
fn line_table(lines: &[TestLine]) -> String {
    let mut out = String::from(
        "<table class=\"feed\"><tr><th>When</th><th>Status</th><th>Test</th><th>Duration</th>\
         <th>Author</th><th>Log</th></tr>",
    );
    for t in lines {
        let log = match &t.log {
            Some(id) => format!("<a href=\"/{}\">log</a>", url(id)),
            None => String::new(),
        };
        let _ = write!(
            out,
            "<tr class=\"line\"><td>{}</td><td class=\"{}\">{}</td><td><code>{}</code></td>\
             <td class=\"num\">{}</td><td>{}</td><td>{log}</td></tr>",
            esc(t.when.as_deref().unwrap_or("")),
            status_class(&t.status),
            esc(&t.status),
            esc(&t.command),
            esc(&t.seconds.map(|s| duration_ms(s * 1000)).unwrap_or_default()),
            esc(t.author.as_deref().unwrap_or("")),
        );
    }
    out.push_str("</table>");
    out
}

/// `/_/test/LIST`: one test's history list.
pub fn test(ctx: &Ctx, list: &str) -> crate::Result<Option<String>> {
    if !list.starts_with("history_") || !list.chars().all(crate::server::paths::allowed) {
        return Ok(None);
    }
    let lines: Vec<TestLine> = listing::lines(ctx, list, 1000)?
        .iter()
        .filter_map(|l| parse_line(l))
        .collect();
    let Some(first) = lines.first() else {
        return Ok(None);
    };
    let command = first.command.clone();
    let recent = &lines[..lines.len().min(LAST_N)];
    let flakes = recent.iter().filter(|l| l.status == "FLAKED").count();
    let owners = owners::load().of(&command).join(", ");
    let body = format!(
        "<p><code>{}</code></p><p>Owners: <span class=\"owners\">{}</span> · flaked \
         <span class=\"flakes\">{flakes}</span> of the last {} runs</p>{}{}",
        esc(&command),
        esc(&owners),
        recent.len(),
        strip(recent),
        line_table(&lines)
    );
    Ok(Some(page("Test history", &body)))
}

mod owners {
    //! Owners from the repo's `.test_patterns.yml`, when the server is told where the repo is
    //! (`CI3_DASHBOARD_REPO`); none otherwise.

    use regex::Regex;
    use serde_norway::Value;

    pub struct Owners(Vec<(Regex, Vec<String>)>);

    /// The entries with `regex` and `owners`; a file that cannot be read gives none (a page
    /// still shows without owners).
    pub fn load() -> Owners {
        let Some(repo) = std::env::var_os("CI3_DASHBOARD_REPO") else {
            return Owners(Vec::new());
        };
        let path = std::path::Path::new(&repo).join(".test_patterns.yml");
        let text = std::fs::read_to_string(path).unwrap_or_default();
        Owners(parse(&text))
    }

    fn parse(text: &str) -> Vec<(Regex, Vec<String>)> {
        let Ok(doc) = serde_norway::from_str::<Value>(text) else {
            return Vec::new();
        };
        let entries = match &doc {
            Value::Sequence(s) => s.clone(),
            Value::Mapping(m) => match m.get("tests") {
                Some(Value::Sequence(s)) => s.clone(),
                _ => Vec::new(),
            },
            _ => Vec::new(),
        };
        entries
            .iter()
            .filter_map(|e| {
                let ere = e.get("regex")?.as_str()?;
                let re = Regex::new(&crate::hash::ere::translate(ere).ok()?).ok()?;
                let owners = e.get("owners")?.as_sequence()?;
                let names = owners
                    .iter()
                    .filter_map(|o| o.as_str().map(str::to_string))
                    .collect();
                Some((re, names))
            })
            .collect()
    }

    impl Owners {
        pub fn of(&self, command: &str) -> Vec<String> {
            let mut out: Vec<String> = self
                .0
                .iter()
                .filter(|(re, _)| re.is_match(command))
                .flat_map(|(_, o)| o.clone())
                .collect();
            out.dedup();
            out
        }
    }

    #[test]
    fn owners_of_entries() {
        let text =
            "names:\n  a: &ann U1\ntests:\n  - regex: \"flaky\\\\.sh\"\n    owners: [*ann]\n";
        let owners = Owners(parse(text));
        assert_eq!(owners.of("./flaky.sh x"), vec!["U1".to_string()]);
        assert!(owners.of("other").is_empty());
    }
}
