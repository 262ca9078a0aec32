//! A request's path and query as routes read them: percent-decoding, the charset of names on
//! upstream routes and every refusal of a path (400), so no spelling of traversal reaches a store.

use crate::error::{Error, Result};

/// The longest path segment and the longest path, decoded.
const MAX_SEGMENT: usize = 255;
const MAX_PATH: usize = 1024;

/// The first segments that name a route; any other first segment browses a log.
const ROUTE_NAMES: &[&str] = &[
    "health",
    "logs",
    "kv",
    "lists",
    "list",
    "runs",
    "artifacts",
    "objects",
    "events",
];

/// What a path asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// `/`
    Root,
    Health,
    /// `/logs/ID`
    Log(String),
    /// `/logs/PREFIX/` (the prefix without its `/`; empty for `/logs/`)
    LogList(String),
    /// `/kv/KEY`; `POST /kv/mget` is the batch read.
    Kv(String),
    /// `/lists/NAME`
    List(String),
    /// `/list/NAME`: a list's browse URL.
    ListBrowse(String),
    /// `/runs/SECTION/ID`
    Run {
        section: String,
        id: String,
    },
    /// `/runs/SECTION`
    Runs(String),
    /// `/artifacts/NAME`
    Artifact(String),
    /// `/objects/NAME`
    Object(String),
    /// `/objects/`: a listing.
    Objects,
    /// `/events/CHANNEL`
    Event(String),
    /// `/ID` or `/ID.txt`: a log's browse URL (the `.txt` still on).
    Browse(String),
    /// A route's name alone (`/kv`): nothing there.
    Nothing,
}

impl Route {
    /// The methods the route answers, for 405's `Allow`.
    pub fn allowed(&self) -> &'static [&'static str] {
        match self {
            Route::Log(_) => &["GET", "HEAD", "PUT"],
            Route::Kv(key) if key == "mget" => &["GET", "HEAD", "PUT", "POST"],
            Route::Kv(_) => &["GET", "HEAD", "PUT"],
            Route::List(_) => &["GET", "HEAD", "POST"],
            Route::Run { .. } | Route::Artifact(_) => &["GET", "HEAD", "PUT"],
            Route::Object(_) => &["GET", "HEAD", "PUT", "DELETE", "POST"],
            Route::Event(_) => &["POST"],
            Route::Root
            | Route::Health
            | Route::LogList(_)
            | Route::ListBrowse(_)
            | Route::Runs(_)
            | Route::Objects
            | Route::Browse(_)
            | Route::Nothing => &["GET", "HEAD"],
        }
    }
}

fn bad(why: impl std::fmt::Display) -> Error {
    Error::usage(format!("bad path: {why}"))
}

/// The route of a raw (percent-encoded) request path.
pub fn parse(raw: &str) -> Result<Route> {
    let Some(rest) = raw.strip_prefix('/') else {
        return Err(bad("it must start with /"));
    };
    if rest.is_empty() {
        return Ok(Route::Root);
    }
    let segments = rest
        .split('/')
        .map(decode)
        .collect::<Result<Vec<String>>>()?;
    let decoded_len = segments.iter().map(|s| s.len() + 1).sum::<usize>();
    if decoded_len > MAX_PATH {
        return Err(bad(format!("longer than {MAX_PATH} bytes")));
    }
    if let Some(long) = segments.iter().find(|s| s.len() > MAX_SEGMENT) {
        return Err(bad(format!(
            "a segment of {} bytes (at most {MAX_SEGMENT})",
            long.len()
        )));
    }
    let (first, names) = segments.split_first().expect("split yields one");
    // `/logs/PREFIX/` and `/objects/` list; elsewhere an empty last segment is an empty name.
    let listing = names.len() > 1 && names.last().is_some_and(|s| s.is_empty());
    let body = if listing {
        &names[..names.len() - 1]
    } else {
        names
    };
    if !ROUTE_NAMES.contains(&first.as_str()) {
        return Ok(Route::Browse(name(&segments)?));
    }
    if names.is_empty() || names == [""] {
        return Ok(match first.as_str() {
            "health" if names.is_empty() => Route::Health,
            "logs" if !names.is_empty() => Route::LogList(String::new()),
            "objects" if !names.is_empty() => Route::Objects,
            _ => Route::Nothing,
        });
    }
    Ok(match (first.as_str(), listing) {
        ("logs", true) => Route::LogList(name(body)?),
        ("objects", false) => Route::Object(object_name(body)?),
        (_, true) => return Err(bad("an empty segment")),
        ("logs", false) => Route::Log(name(body)?),
        ("kv", false) => Route::Kv(name(body)?),
        ("lists", false) => Route::List(name(body)?),
        ("list", false) => Route::ListBrowse(name(body)?),
        ("artifacts", false) => Route::Artifact(name(body)?),
        ("events", false) => Route::Event(name(body)?),
        ("runs", false) => {
            let all = name(body)?;
            match body.split_last() {
                Some((id, section))
                    if !section.is_empty() && id.bytes().all(|b| b.is_ascii_digit()) =>
                {
                    Route::Run {
                        section: section.join("/"),
                        id: id.clone(),
                    }
                }
                _ => Route::Runs(all),
            }
        }
        _ => Route::Nothing,
    })
}

/// A segment percent-decoded: a bad escape, or one decoding to `/`, is refused.
fn decode(segment: &str) -> Result<String> {
    decode_with(segment, false)
}

fn decode_with(segment: &str, slash_ok: bool) -> Result<String> {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| bad("a % not followed by two hex digits"))?;
            if hex == b'/' && !slash_ok {
                return Err(bad("an encoded / in a segment"));
            }
            out.push(hex);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| bad("not UTF-8"))
}

/// Upstream's name rules: each segment of `[A-Za-z0-9._:+@=,-]+`, none `.` or `..`; the last
/// not a reference server's own file (`.expires`, `.json`, `.jsonl`, `.tmp-`); the first not
/// `.ci3`, the store's namespace of our own objects. The segments joined with `/`.
fn name(segments: &[String]) -> Result<String> {
    for segment in segments {
        if segment.is_empty() {
            return Err(bad("an empty segment"));
        }
        if segment == "." || segment == ".." {
            return Err(bad(format!("a '{segment}' segment")));
        }
        if let Some(c) = segment.chars().find(|&c| !allowed(c)) {
            return Err(bad(format!("{c:?} is not allowed in a name")));
        }
    }
    let last = segments.last().map_or("", String::as_str);
    if [".expires", ".json", ".jsonl"]
        .iter()
        .any(|s| last.ends_with(s))
        || last.starts_with(".tmp-")
    {
        return Err(bad(format!("'{last}' is a reserved name")));
    }
    if segments.first().is_some_and(|s| s == ".ci3") {
        return Err(bad(".ci3/ is not reachable on this route"));
    }
    Ok(segments.join("/"))
}

/// Whether `c` may appear in a name on an upstream route.
pub fn allowed(c: char) -> bool {
    c.is_ascii_alphanumeric() || "._:+@=,-".contains(c)
}

/// A name from a line of `POST /kv/mget`: as a path would give it, unencoded; `None` if bad.
pub fn key_line(line: &str) -> Option<String> {
    if line.is_empty() || line.len() > MAX_PATH {
        return None;
    }
    let segments: Vec<String> = line.split('/').map(String::from).collect();
    if segments.iter().any(|s| s.len() > MAX_SEGMENT) {
        return None;
    }
    name(&segments).ok()
}

/// An `/objects` name: our `check_name`, and neither a backslash, a control character nor a
/// component that reads as a scratch file (`.ci3-…`, which stores clear as debris).
fn object_name(segments: &[String]) -> Result<String> {
    let joined = segments.join("/");
    crate::store::check_name(&joined).map_err(|e| bad(e.message()))?;
    if joined.contains(|c: char| c == '\\' || c.is_control()) {
        return Err(bad("a backslash or control character in an object name"));
    }
    if segments.iter().any(|s| s.starts_with(".ci3-")) {
        return Err(bad("'.ci3-' starts scratch files' names"));
    }
    Ok(joined)
}

/// The query parameters routes read.
#[derive(Debug, Default)]
pub struct Query {
    pub ttl: Option<u64>,
    pub max: Option<u64>,
    pub prefix: Option<String>,
    pub after: Option<String>,
    pub order: Option<String>,
    /// Our parted uploads: `uploads` begins one, `upload=ID` names it, `part=N` one of its parts,
    /// `complete` publishes it.
    pub uploads: bool,
    pub upload: Option<String>,
    pub part: Option<u64>,
    pub complete: bool,
}

impl Query {
    /// `ttl` and `max` must be whole numbers ≥ 1; unknown parameters are ignored.
    pub fn parse(raw: Option<&str>) -> Result<Query> {
        let mut query = Query::default();
        for pair in raw.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            // A value may hold an encoded '/' (a prefix), unlike a path segment.
            let value = decode_with(value, true)?;
            let number = |what: &str| -> Result<u64> {
                value
                    .parse::<u64>()
                    .ok()
                    .filter(|&n| n >= 1)
                    .ok_or_else(|| Error::usage(format!("bad {what}={value}: a whole number ≥ 1")))
            };
            match key {
                "ttl" => query.ttl = Some(number("ttl")?),
                "max" => query.max = Some(number("max")?),
                "prefix" => query.prefix = Some(value),
                "after" => query.after = Some(value),
                "order" => query.order = Some(value),
                "uploads" => query.uploads = true,
                "upload" => query.upload = Some(value),
                "part" => query.part = Some(number("part")?),
                "complete" => query.complete = true,
                _ => {}
            }
        }
        Ok(query)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_of_paths() {
        assert_eq!(parse("/").unwrap(), Route::Root);
        assert_eq!(parse("/health").unwrap(), Route::Health);
        assert_eq!(parse("/logs/a/b").unwrap(), Route::Log("a/b".into()));
        assert_eq!(parse("/logs/a/").unwrap(), Route::LogList("a".into()));
        assert_eq!(parse("/logs/").unwrap(), Route::LogList(String::new()));
        assert_eq!(parse("/kv").unwrap(), Route::Nothing);
        assert_eq!(
            parse("/runs/prs/next/1712").unwrap(),
            Route::Run {
                section: "prs/next".into(),
                id: "1712".into()
            }
        );
        assert_eq!(parse("/runs/1712").unwrap(), Route::Runs("1712".into()));
        assert_eq!(parse("/runs/prs").unwrap(), Route::Runs("prs".into()));
        assert_eq!(parse("/abc.txt").unwrap(), Route::Browse("abc.txt".into()));
        assert_eq!(parse("/a%3Ab").unwrap(), Route::Browse("a:b".into()));
        assert_eq!(
            parse("/objects/.ci3/kv/a.kv").unwrap(),
            Route::Object(".ci3/kv/a.kv".into())
        );
        assert_eq!(parse("/objects/").unwrap(), Route::Objects);
    }

    #[test]
    fn every_refusal() {
        for path in [
            "/kv/a//b",
            "/kv/a/",
            "/kv/.",
            "/kv/..",
            "/kv/%2e%2e",
            "/kv/a%2Fb",
            "/kv/a%2",
            "/kv/a%zz",
            "/kv/a\\b",
            "/kv/a%5Cb",
            "/kv/a b",
            "/kv/x.expires",
            "/kv/x.json",
            "/kv/x.jsonl",
            "/kv/.tmp-x",
            "/kv/.ci3/x",
            "/artifacts/.ci3/manifest/x",
            "/objects/a/../b",
            "/objects/.ci3-put-1-2-x",
            "/objects/a%5Cb",
            "/x/%ff",
        ] {
            assert!(parse(path).is_err(), "{path}");
        }
        assert!(parse(&format!("/kv/{}", "a".repeat(256))).is_err());
        assert!(parse(&format!("/kv/{}", "a".repeat(255))).is_ok());
        let long = vec!["a".repeat(200); 6].join("/");
        assert!(parse(&format!("/kv/{long}")).is_err());
    }

    #[test]
    fn queries() {
        let q = Query::parse(Some("ttl=5&max=3&final=1&prefix=a%2Fb")).unwrap();
        assert_eq!((q.ttl, q.max), (Some(5), Some(3)));
        assert_eq!(q.prefix.as_deref(), Some("a/b"));
        for bad in ["ttl=0", "ttl=-1", "ttl=x", "ttl=", "max=0"] {
            assert!(Query::parse(Some(bad)).is_err(), "{bad}");
        }
        assert_eq!(key_line("a/b").as_deref(), Some("a/b"));
        assert_eq!(key_line("a/../b"), None);
        assert_eq!(key_line("ci3-preflight").as_deref(), Some("ci3-preflight"));
    }
}
