//! baur's template values in configuration strings: `{{ .Root }}`, `{{ .AppName }}`,
//! `{{ gitCommit }}`, `{{ env "NAME" }}` and `{{ uuid }}`.
//!
//! Only these forms are understood (the original used Go's text/template, but configurations
//! use nothing else); anything else between `{{` and `}}` is an error rather than text that
//! silently stays in a path or an upload key. The spellings of earlier baur releases, which real
//! configurations still carry, mean the same: `{{ .root }}`, `{{ .appname }}`, `{{ gitcommit }}`,
//! `{{ .gitcommit }}`, `{{ .uuid }}`, and the plain `$ROOT`, `$APPNAME`, `$GITCOMMIT`, `$UUID`.

use std::cell::OnceCell;
use std::path::{Path, PathBuf};

use crate::settings::Settings;
use crate::{Error, Result};

/// What the templates expand to for one repository. The git commit is asked for only when a
/// template uses it, and at most once, because computing it may fail outside a commit.
pub struct Context<'a> {
    root: PathBuf,
    settings: &'a Settings,
    git_commit: Box<dyn Fn() -> Result<String> + 'a>,
    commit: OnceCell<Result<String>>,
}

impl<'a> Context<'a> {
    /// `root` is the repository root (absolute); `{{ env "NAME" }}` reads `settings`;
    /// `git_commit` is called on first use of `{{ gitCommit }}`.
    pub fn new(
        root: &Path,
        settings: &'a Settings,
        git_commit: impl Fn() -> Result<String> + 'a,
    ) -> Self {
        Context {
            root: root.to_path_buf(),
            settings,
            git_commit: Box::new(git_commit),
            commit: OnceCell::new(),
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `text` with every template replaced; the error (of kind `Config`) is the problem alone,
    /// the caller names the file and field.
    pub fn expand(&self, text: &str, app_name: &str) -> Result<String> {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(open) = rest.find("{{") {
            out.push_str(&self.dollar_vars(&rest[..open], app_name)?);
            let after = &rest[open + 2..];
            let close = after
                .find("}}")
                .ok_or_else(|| crate::err!(Config, "unclosed `{{{{` in \"{text}\""))?;
            out.push_str(&self.value(after[..close].trim(), app_name)?);
            rest = &after[close + 2..];
        }
        out.push_str(&self.dollar_vars(rest, app_name)?);
        Ok(out)
    }

    /// `text` with the first releases' `$ROOT`, `$APPNAME`, `$GITCOMMIT` and `$UUID` replaced,
    /// as those releases did: wherever they appear.
    fn dollar_vars(&self, text: &str, app_name: &str) -> Result<String> {
        const VARS: [(&str, &str); 4] = [
            ("$ROOT", ".Root"),
            ("$APPNAME", ".AppName"),
            ("$GITCOMMIT", "gitCommit"),
            ("$UUID", "uuid"),
        ];
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(at) = rest.find('$') {
            out.push_str(&rest[..at]);
            rest = &rest[at..];
            match VARS.iter().find(|(var, _)| rest.starts_with(var)) {
                Some((var, template)) => {
                    out.push_str(&self.value(template, app_name)?);
                    rest = &rest[var.len()..];
                }
                None => {
                    out.push('$');
                    rest = &rest[1..];
                }
            }
        }
        out.push_str(rest);
        Ok(out)
    }

    fn value(&self, inner: &str, app_name: &str) -> Result<String> {
        match inner {
            ".Root" | ".root" => Ok(self.root.to_string_lossy().into_owned()),
            ".AppName" | ".appname" => Ok(app_name.to_string()),
            "gitCommit" | "gitcommit" | ".gitcommit" => {
                match self.commit.get_or_init(|| (self.git_commit)()) {
                    Ok(commit) => Ok(commit.clone()),
                    Err(e) => Err(crate::err!(Config, "{{{{ gitCommit }}}}: {e}")),
                }
            }
            "uuid" | ".uuid" => uuid(),
            _ => match env_name(inner) {
                Some(name) => self.settings.var(name).and_then(|v| v.to_str()).map(String::from).ok_or_else(|| {
                    crate::err!(Config, "{{{{ env \"{name}\" }}}}: environment variable {name} is not set")
                }),
                None => Err(crate::err!(Config,
                    "unknown template `{{{{ {inner} }}}}` (known: {{{{ .Root }}}}, {{{{ .AppName }}}}, \
                     {{{{ gitCommit }}}}, {{{{ env \"NAME\" }}}}, {{{{ uuid }}}})"
                )),
            },
        }
    }
}

/// `NAME` of `env "NAME"` (Go also allows a raw `` `NAME` `` string).
fn env_name(inner: &str) -> Option<&str> {
    let arg = inner.strip_prefix("env")?;
    if !arg.starts_with(char::is_whitespace) {
        return None;
    }
    let arg = arg.trim();
    ['"', '`'].iter().find_map(|q| {
        arg.strip_prefix(*q)?
            .strip_suffix(*q)
            .filter(|n| !n.is_empty() && !n.contains(*q))
    })
}

/// A random (version 4) UUID in its usual text form.
fn uuid() -> crate::Result<String> {
    let mut b = crate::random::bytes::<16>()
        .map_err(|e| Error::config(format!("{{{{ uuid }}}}: cannot read /dev/urandom: {e}")))?;
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b);
    Ok(format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    static SETTINGS: std::sync::LazyLock<Settings> = std::sync::LazyLock::new(Settings::default);

    fn ctx() -> Context<'static> {
        Context::new(Path::new("/repo"), &SETTINGS, || Ok("abc123".into()))
    }

    #[test]
    fn expands_the_known_values() {
        let c = ctx();
        assert_eq!(
            c.expand("{{ .Root }}/x/{{.AppName}}-{{ gitCommit }}", "calc")
                .unwrap(),
            "/repo/x/calc-abc123"
        );
        assert_eq!(c.expand("plain", "calc").unwrap(), "plain");
    }

    #[test]
    fn earlier_spellings_mean_the_same() {
        let c = ctx();
        assert_eq!(
            c.expand(
                "{{ .root }}/{{ .appname }}-{{ gitcommit }}-{{ .gitcommit }}",
                "calc"
            )
            .unwrap(),
            "/repo/calc-abc123-abc123"
        );
        assert_eq!(
            c.expand("$ROOT/tasks.toml#$APPNAME-$GITCOMMIT $HOME $ 5$", "calc")
                .unwrap(),
            "/repo/tasks.toml#calc-abc123 $HOME $ 5$"
        );
        assert_eq!(c.expand("$UUID", "a").unwrap().len(), 36);
        assert_eq!(c.expand("{{ .uuid }}", "a").unwrap().len(), 36);
    }

    #[test]
    fn asks_for_the_commit_once_and_only_when_used() {
        let calls = std::cell::Cell::new(0);
        let c = Context::new(Path::new("/r"), &SETTINGS, || {
            calls.set(calls.get() + 1);
            Ok("c".into())
        });
        c.expand("{{ .Root }}", "a").unwrap();
        assert_eq!(calls.get(), 0);
        c.expand("{{ gitCommit }}{{ gitCommit }}", "a").unwrap();
        assert_eq!(calls.get(), 1);
    }

    #[test]
    fn uuid_has_the_v4_shape() {
        let u = ctx().expand("{{ uuid }}", "a").unwrap();
        assert_eq!(u.len(), 36);
        let parts: Vec<&str> = u.split('-').collect();
        assert_eq!(
            parts.iter().map(|p| p.len()).collect::<Vec<_>>(),
            [8, 4, 4, 4, 12]
        );
        assert!(parts[2].starts_with('4'));
        assert!(matches!(&parts[3][..1], "8" | "9" | "a" | "b"));
        assert_ne!(u, ctx().expand("{{ uuid }}", "a").unwrap());
    }

    #[test]
    fn env_forms() {
        assert_eq!(env_name("env \"CC\""), Some("CC"));
        assert_eq!(env_name("env `CC`"), Some("CC"));
        assert_eq!(env_name("envx \"CC\""), None);
        assert_eq!(env_name("env CC"), None);
    }

    #[test]
    fn errors_are_one_line() {
        let c = ctx();
        assert_eq!(
            c.expand("a {{ .Nope }}", "x").unwrap_err().to_string(),
            "unknown template `{{ .Nope }}` (known: {{ .Root }}, {{ .AppName }}, \
             {{ gitCommit }}, {{ env \"NAME\" }}, {{ uuid }})"
        );
        assert_eq!(
            c.expand("a {{ .Root", "x").unwrap_err().to_string(),
            "unclosed `{{` in \"a {{ .Root\""
        );
        let failing = Context::new(Path::new("/r"), &SETTINGS, || {
            Err(crate::err!(Failed, "no commit yet"))
        });
        assert_eq!(
            failing
                .expand("{{ gitCommit }}", "x")
                .unwrap_err()
                .to_string(),
            "{{ gitCommit }}: no commit yet"
        );
    }
}
