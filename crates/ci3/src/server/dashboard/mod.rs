//! The dashboard: server-rendered pages over the same store and credentials as the API.
//!
//! Pages answer only a GET or HEAD whose `Accept` prefers `text/html` over plain text (a
//! browser's), on paths the API reads as a log's browse URL: `/`, `/ID` (that log's page) and
//! `/_/…` (the other pages; a log whose id starts with `_/` is still text at `/logs/_/…` and to
//! every client that is not a browser). So every API client keeps its answers byte for byte.
//! Pages only read: nothing here writes, and every value goes through [`html::esc`].

mod ansi;
mod cache;
mod html;
mod listing;
mod logs;
mod runs;
mod tasks;
mod tests;

use std::sync::Arc;

use http::HeaderMap;

use super::paths::{self, Route};
use super::reply::{self, Response};
use super::{writes, Ctx};

pub const HTML: &str = "text/html; charset=utf-8";

/// The page a request asks for, if it is one: `None` leaves the request to the API.
pub async fn intercept(ctx: &Arc<Ctx>, parts: &http::request::Parts) -> Option<Response> {
    let path = parts.uri.path();
    let method = parts.method.as_str();
    // Pages are read, never written: any other method is the API's to answer (or refuse), and
    // so is every request whose Accept does not prefer HTML.
    if (method != "GET" && method != "HEAD") || !prefers_html(&parts.headers) {
        return None;
    }
    let browsed = match path {
        "/" => true,
        _ => matches!(paths::parse(path), Ok(Route::Browse(_))),
    };
    if !browsed {
        return None;
    }
    if let Some(refused) = ctx.auth.refusal(parts) {
        return Some(refused);
    }
    let answer = page(ctx, path, parts.uri.query().unwrap_or("")).await;
    Some(match method {
        "HEAD" => reply::headers_only(answer),
        _ => answer,
    })
}

/// Whether `Accept` ranks `text/html` above `text/plain` (and above 0): a browser's does, curl's
/// `*/*` and upstream's client's none do not.
pub fn prefers_html(headers: &HeaderMap) -> bool {
    let Some(accept) = headers
        .get(http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let (mut html, mut plain) = (0.0f32, 0.0f32);
    for item in accept.split(',') {
        let mut parts = item.split(';').map(str::trim);
        let kind = parts.next().unwrap_or("").to_ascii_lowercase();
        let q = parts
            .find_map(|p| p.strip_prefix("q="))
            .and_then(|q| q.parse::<f32>().ok())
            .unwrap_or(1.0);
        match kind.as_str() {
            "text/html" | "application/xhtml+xml" => html = html.max(q),
            "text/plain" => plain = plain.max(q),
            _ => {}
        }
    }
    html > 0.0 && html > plain
}

/// The page at `path`, answered whole.
async fn page(ctx: &Arc<Ctx>, path: &str, query: &str) -> Response {
    let (c, path_owned, query) = (ctx.clone(), path.to_string(), query.to_string());
    let rendered = writes::blocking(move || render(&c, &path_owned, &query)).await;
    match rendered {
        Ok(Some(body)) => reply::with_body(200, HTML, body),
        Ok(None) => reply::with_body(404, HTML, html::page("Not found", "<p>No such page.</p>")),
        Err(e) => ctx.failed(&format!("dashboard {path}"), &e),
    }
}

/// The markup of a page; `None` for no such page.
fn render(ctx: &Ctx, path: &str, query: &str) -> crate::Result<Option<String>> {
    let segments: Vec<String> = path
        .trim_start_matches('/')
        .split('/')
        .map(decode)
        .collect();
    let parts: Vec<&str> = segments.iter().map(String::as_str).collect();
    Ok(match parts.as_slice() {
        [""] => Some(runs::registry(ctx)?),
        ["_"] | ["_", ""] => Some(runs::registry(ctx)?),
        ["_", "run", rest @ .., id] if !rest.is_empty() => runs::run(ctx, &rest.join("/"), id)?,
        ["_", "tests"] => Some(tests::feed(ctx)?),
        ["_", "test", key] => tests::test(ctx, key)?,
        ["_", "tasks"] => Some(tasks::all(ctx)?),
        ["_", "task", name] => tasks::task(ctx, name)?,
        ["_", "taskrun", id] => tasks::run(ctx, id)?,
        ["_", "taskdiff"] => tasks::diff(ctx, query)?,
        ["_", "cache"] => Some(cache::page_html(ctx)?),
        ["_", ..] => None,
        _ => {
            let Ok(Route::Browse(id)) = paths::parse(path) else {
                return Ok(None);
            };
            let id = id.strip_suffix(".txt").unwrap_or(&id).to_string();
            logs::page(ctx, &id)?
        }
    })
}

/// A path segment or query value percent-decoded (lossy: a page name, not an object name).
fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = (bytes[i] == b'%')
            .then(|| bytes.get(i + 1..i + 3))
            .flatten()
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match hex {
            Some(b) => {
                out.push(b);
                i += 3;
            }
            None => {
                out.push(if bytes[i] == b'+' { b' ' } else { bytes[i] });
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The value of `key` in a query string, decoded.
fn query_value(query: &str, key: &str) -> Option<String> {
    query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(k, _)| *k == key)
        .map(|(_, v)| decode(v))
}

#[cfg(test)]
mod unit {
    use super::*;

    #[test]
    fn only_browsers_get_html() {
        let with = |accept: &str| {
            let mut h = HeaderMap::new();
            h.insert(http::header::ACCEPT, accept.parse().unwrap());
            prefers_html(&h)
        };
        assert!(with(
            "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
        ));
        assert!(!with("*/*"));
        assert!(!with("text/plain, text/html;q=0.5"));
        assert!(!with("text/html;q=0"));
        assert!(!prefers_html(&HeaderMap::new()));
        assert_eq!(decode("a%20b+c"), "a b c");
        assert_eq!(query_value("a=1&b=x%2Fy", "b").as_deref(), Some("x/y"));
    }
}
