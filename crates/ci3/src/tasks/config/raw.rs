//! The configuration files exactly as written: serde structures mirroring baur's v3 format.
//!
//! One structure serves `.app.toml` and include files alike (`include_id` is optional here and
//! checked by the resolver), so that a key accepted in `[[Task]]` is accepted in an included
//! `[[Task]]` too. Every structure denies unknown keys: the original ignored typos silently.

use serde::Deserialize;

/// Only `config_version`, read before the rest so that a file written for another version
/// is reported as such rather than as a list of unknown keys.
#[derive(Deserialize)]
pub(super) struct VersionOnly {
    pub config_version: Option<toml::Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RepoFile {
    #[allow(dead_code)] // checked through `VersionOnly`
    pub config_version: toml::Value,
    /// Accepted with any content: the store replaces the database.
    #[serde(rename = "Database")]
    pub database: Option<toml::Table>,
    #[serde(rename = "Discover")]
    pub discover: Discover,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Discover {
    #[serde(default)]
    pub application_dirs: Vec<String>,
    /// Missing means 0, as in the original (Go's zero value).
    #[serde(default)]
    pub search_depth: i64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct AppFile {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub includes: Vec<String>,
    #[serde(rename = "Task", default)]
    pub tasks: Vec<TaskDef>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct IncludeFile {
    #[serde(rename = "Input", default)]
    pub inputs: Vec<InputDef>,
    #[serde(rename = "Output", default)]
    pub outputs: Vec<OutputDef>,
    #[serde(rename = "Task", default)]
    pub tasks: Vec<TaskDef>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct TaskDef {
    pub include_id: Option<String>,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub command: Vec<String>,
    #[serde(default)]
    pub includes: Vec<String>,
    #[serde(rename = "Input")]
    pub input: Option<InputDef>,
    #[serde(rename = "Output")]
    pub output: Option<OutputDef>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct InputDef {
    pub include_id: Option<String>,
    #[serde(rename = "Files", default)]
    pub files: Vec<FilesDef>,
    #[serde(rename = "ExcludedFiles")]
    pub excluded_files: Option<ExcludedDef>,
    #[serde(rename = "EnvironmentVariables", default)]
    pub env_vars: Vec<EnvVarsDef>,
    #[serde(rename = "GolangSources", default)]
    pub golang_sources: Vec<GolangSourcesDef>,
    #[serde(rename = "TaskInfos", default)]
    pub task_infos: Vec<TaskInfosDef>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct GolangSourcesDef {
    #[serde(default)]
    pub queries: Vec<String>,
    #[serde(default)]
    pub environment: Vec<String>,
    #[serde(default)]
    pub build_flags: Vec<String>,
    #[serde(default)]
    pub tests: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct TaskInfosDef {
    #[serde(default)]
    pub task_name: String,
    #[serde(default)]
    pub env_var: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FilesDef {
    #[serde(default)]
    pub paths: Vec<String>,
    #[serde(default)]
    pub optional: bool,
    #[serde(default)]
    pub git_tracked_only: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ExcludedDef {
    #[serde(default)]
    pub paths: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct EnvVarsDef {
    #[serde(default)]
    pub names: Vec<String>,
    #[serde(default)]
    pub optional: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct OutputDef {
    pub include_id: Option<String>,
    #[serde(rename = "File", default)]
    pub files: Vec<FileOutputDef>,
    #[serde(rename = "DockerImage", default)]
    pub docker_images: Vec<DockerImageDef>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FileOutputDef {
    #[serde(default)]
    pub path: String,
    #[serde(rename = "FileCopy", default)]
    pub file_copy: Vec<FileCopyDef>,
    #[serde(rename = "S3Upload", default)]
    pub s3_upload: Vec<S3UploadDef>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FileCopyDef {
    #[serde(default)]
    pub path: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct S3UploadDef {
    #[serde(default)]
    pub bucket: String,
    #[serde(default)]
    pub key: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct DockerImageDef {
    #[serde(default)]
    pub idfile: String,
    #[serde(rename = "RegistryUpload", default)]
    pub registry_upload: Vec<RegistryUploadDef>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RegistryUploadDef {
    /// Empty means the docker CLI's default registry.
    #[serde(default)]
    pub registry: String,
    #[serde(default)]
    pub repository: String,
    #[serde(default)]
    pub tag: String,
}

/// Parses `text` (the contents of the file shown as `shown`), turning toml's multi-line
/// report into one line of kind `Config`: `FILE:LINE: TABLE.KEY: message`.
pub(super) fn parse<T: serde::de::DeserializeOwned>(shown: &str, text: &str) -> crate::Result<T> {
    toml::from_str(text).map_err(|e| crate::Error::config(one_line(shown, text, &e)))
}

fn one_line(shown: &str, text: &str, e: &toml::de::Error) -> String {
    let message = e
        .message()
        .trim()
        .lines()
        .map(str::trim)
        .collect::<Vec<_>>()
        .join(" ")
        .replace("unknown field", "unknown key")
        .replace("missing field", "missing key");
    let at = e.span().map(|s| s.start.min(text.len()));
    // A string left open is reported where the parser gave up, as whatever that looked like:
    // name the line it starts on instead, when that comes first.
    if let Some(open) =
        super::unclosed::unclosed_string(text).filter(|o| at.is_none_or(|a| *o <= a))
    {
        return located(shown, text, open, "unterminated string");
    }
    match at {
        Some(at) => located(shown, text, at, &message),
        None => format!("{shown}: {message}"),
    }
}

/// `FILE:LINE: TABLE.KEY: message` for an error at byte `at` of `text`.
fn located(shown: &str, text: &str, at: usize, message: &str) -> String {
    let before = &text[..at];
    let line = before.matches('\n').count() + 1;
    // The field: the table the error is in, and the key when the error is about its value.
    let mut field: Vec<&str> = before
        .lines()
        .rev()
        .find_map(table_header)
        .into_iter()
        .collect();
    let line_start = &before[before.rfind('\n').map_or(0, |i| i + 1)..];
    if let Some((key, _)) = line_start.split_once('=') {
        field.push(key.trim());
    }
    match field.join(".") {
        f if f.is_empty() => format!("{shown}:{line}: {message}"),
        f => format!("{shown}:{line}: {f}: {message}"),
    }
}

/// `a.b` of a `[a.b]` or `[[a.b]]` line (a comment may follow).
fn table_header(line: &str) -> Option<&str> {
    let line = line.split('#').next().unwrap_or("").trim();
    let name = line.strip_prefix('[')?.strip_suffix(']')?;
    let name = name.trim_matches(|c| c == '[' || c == ']').trim();
    name.chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | ' '))
        .then_some(name)
}
