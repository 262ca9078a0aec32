//! The files a `GolangSources` input stands for: the Go files of the queried packages and of
//! everything they import, as `go list -deps -json` reports them, without the toolchain's and
//! the module cache's own files, plus each involved module's `go.mod`.

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde::Deserialize;

use super::globs::glob_files;
use crate::settings::Settings;
use crate::tasks::config::model::GolangInput;
use crate::{Result, ResultExt};

/// The variables of the caller's environment `go` may see besides the configured ones: where it
/// is, and where its build cache is.
const PASSED: [&str; 4] = ["PATH", "HOME", "GOCACHE", "XDG_CACHE_HOME"];

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct GoEnv {
    #[serde(rename = "GOROOT", default)]
    goroot: String,
    #[serde(rename = "GOMODCACHE", default)]
    gomodcache: String,
    #[serde(rename = "GOCACHE", default)]
    gocache: String,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct Package {
    dir: String,
    import_path: String,
    standard: bool,
    go_files: Vec<String>,
    cgo_files: Vec<String>,
    c_files: Vec<String>,
    cxx_files: Vec<String>,
    h_files: Vec<String>,
    s_files: Vec<String>,
    syso_files: Vec<String>,
    embed_files: Vec<String>,
    test_go_files: Vec<String>,
    x_test_go_files: Vec<String>,
    test_embed_files: Vec<String>,
    x_test_embed_files: Vec<String>,
    module: Option<Module>,
    error: Option<PackageError>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct Module {
    go_mod: String,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct PackageError {
    err: String,
}

/// The absolute paths of the files `input` covers, for an app in `app_dir` (absolute).
pub(super) fn resolve(
    settings: &Settings,
    app_dir: &Path,
    input: &GolangInput,
) -> Result<BTreeSet<PathBuf>> {
    let mut env: Vec<(OsString, OsString)> = PASSED
        .iter()
        .filter_map(|name| Some((OsString::from(name), settings.var(name)?.to_os_string())))
        .collect();
    for pair in &input.environment {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        env.push((name.into(), value.into()));
    }
    let go = |args: &[&str]| -> Result<Vec<u8>> {
        let mut cmd = Command::new(find_go(settings)?);
        cmd.args(args)
            .current_dir(app_dir)
            .env_clear()
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null());
        let out = cmd.output().context("cannot run go")?;
        if !out.status.success() {
            let err = String::from_utf8_lossy(&out.stderr);
            crate::fail!(
                Failed,
                "go {} failed: {}",
                args.join(" "),
                err.trim().replace('\n', "; ")
            );
        }
        Ok(out.stdout)
    };
    let goenv: GoEnv =
        serde_json::from_slice(&go(&["env", "-json", "GOROOT", "GOMODCACHE", "GOCACHE"])?)
            .map_err(|e| crate::err!(Failed, "cannot read go env: {e}"))?;

    let mut queries = Vec::new();
    for q in &input.queries {
        if let Some(glob) = q.strip_prefix("fileglob=") {
            let mut found = Vec::new();
            glob_files(app_dir, glob, &mut found)?;
            let files: BTreeSet<_> = found.into_iter().collect();
            if files.is_empty() {
                crate::fail!(Failed, "query \"{q}\" matched no files");
            }
            queries.extend(files.iter().map(|f| package_of(app_dir, f)));
        } else if let Some(file) = q.strip_prefix("file=") {
            queries.push(package_of(app_dir, Path::new(file)));
        } else {
            queries.push(q.clone());
        }
    }
    queries.sort();
    queries.dedup();

    let mut args: Vec<&str> = vec!["list", "-e", "-deps", "-json"];
    if input.tests {
        args.push("-test");
    }
    args.extend(input.build_flags.iter().map(String::as_str));
    args.push("--");
    args.extend(queries.iter().map(String::as_str));
    let listed = go(&args)?;

    let excluded: Vec<&str> = [&goenv.goroot, &goenv.gomodcache, &goenv.gocache]
        .into_iter()
        .filter(|d| !d.is_empty())
        .map(String::as_str)
        .collect();
    let counts = |p: &Path| !excluded.iter().any(|d| p.starts_with(d));
    let mut out = BTreeSet::new();
    for pkg in serde_json::Deserializer::from_slice(&listed).into_iter::<Package>() {
        let pkg = pkg.map_err(|e| crate::err!(Failed, "cannot read the output of go list: {e}"))?;
        if let Some(err) = &pkg.error {
            crate::fail!(Failed, "package {}: {}", pkg.import_path, err.err.trim());
        }
        if pkg.standard {
            continue;
        }
        let dir = Path::new(&pkg.dir);
        let mut lists = vec![
            &pkg.go_files,
            &pkg.cgo_files,
            &pkg.c_files,
            &pkg.cxx_files,
            &pkg.h_files,
            &pkg.s_files,
            &pkg.syso_files,
            &pkg.embed_files,
        ];
        if input.tests {
            lists.extend([
                &pkg.test_go_files,
                &pkg.x_test_go_files,
                &pkg.test_embed_files,
                &pkg.x_test_embed_files,
            ]);
        }
        for name in lists.into_iter().flatten() {
            let file = dir.join(name);
            if counts(&file) {
                out.insert(file);
            }
        }
        if let Some(m) = &pkg.module {
            let go_mod = Path::new(&m.go_mod);
            if !m.go_mod.is_empty() && counts(go_mod) {
                out.insert(go_mod.to_path_buf());
            }
        }
    }
    Ok(out)
}

/// The package directory of a file, as a `go list` pattern relative to the app dir.
fn package_of(app_dir: &Path, file: &Path) -> String {
    let abs = app_dir.join(file);
    let dir = abs.parent().unwrap_or(app_dir);
    match dir.strip_prefix(app_dir) {
        Ok(rel) if rel.as_os_str().is_empty() => ".".into(),
        Ok(rel) => format!("./{}", rel.display()),
        Err(_) => dir.display().to_string(),
    }
}

/// `go` on the caller's `PATH`.
fn find_go(settings: &Settings) -> Result<PathBuf> {
    let path = settings.var("PATH").unwrap_or_default();
    std::env::split_paths(path)
        .map(|d| d.join("go"))
        .find(|p| p.is_file())
        .ok_or_else(|| crate::err!(Failed, "no `go` on PATH: install Go (Debian: golang-go)"))
}
