//! What a request that failed means, in the words a person looks for, with credentials cut out.

/// Why a request never got an answer, in the words a person looks for: "connection refused",
/// "timed out", "DNS lookup failed", else the innermost cause's own words (URLs redacted).
pub fn network_cause(err: &(dyn std::error::Error + 'static)) -> String {
    redact(&cause_words(err))
}

fn cause_words(err: &(dyn std::error::Error + 'static)) -> String {
    let mut innermost = err.to_string();
    let mut next = Some(err);
    while let Some(e) = next {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            match io.kind() {
                std::io::ErrorKind::ConnectionRefused => return "connection refused".into(),
                std::io::ErrorKind::TimedOut => return "timed out".into(),
                std::io::ErrorKind::ConnectionReset => return "connection reset".into(),
                _ => {}
            }
        }
        if let Some(r) = e.downcast_ref::<reqwest::Error>() {
            if r.is_timeout() {
                return "timed out".into();
            }
        }
        let text = e.to_string();
        if text.contains("dns error") || text.contains("failed to lookup address") {
            return "DNS lookup failed".into();
        }
        if !text.is_empty() {
            innermost = text;
        }
        next = e.source();
    }
    innermost
}

/// What an HTTP status means, for messages: people read "server error", not "503".
pub fn http_meaning(status: u16) -> &'static str {
    match status {
        400 => "bad request",
        401 => "not authenticated",
        403 => "access denied",
        404 => "not found",
        408 => "request timed out",
        409 => "conflict",
        412 => "precondition failed",
        416 => "range not satisfiable",
        429 => "too many requests",
        _ if (400..500).contains(&status) => "client error",
        _ if (500..600).contains(&status) => "server error",
        _ => "unexpected status",
    }
}

/// `text` with the query of every URL in it cut off: a presigned URL carries a credential and a
/// signature there.
pub fn redact(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("http") {
        let (before, url) = rest.split_at(at);
        out.push_str(before);
        let end = url
            .find(|c: char| c.is_whitespace() || matches!(c, ')' | '"' | '\'' | '>'))
            .unwrap_or(url.len());
        let (url, after) = url.split_at(end);
        match url.find('?') {
            Some(q) => {
                out.push_str(&url[..q]);
                out.push_str("?...");
            }
            None => out.push_str(url),
        }
        rest = after;
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_lose_their_query() {
        assert_eq!(
            redact("error sending request for url (http://h:9/b/k?X-Amz-Signature=abc&x=1): boom"),
            "error sending request for url (http://h:9/b/k?...): boom"
        );
        assert_eq!(redact("no url here"), "no url here");
    }
}
