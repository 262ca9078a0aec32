//! The configuration after loading: templates expanded, includes merged, everything validated.
//! Nothing here refers back to the files' layout, so later stages need not know about includes.

use std::path::PathBuf;

/// `.baur.toml`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoConfig {
    /// Directories to search for apps, relative to the root, `/`-separated, normalised
    /// (`"."` for the root itself).
    pub application_dirs: Vec<String>,
    /// How many directory levels below each application dir are searched (0: only the dir).
    pub search_depth: u32,
    /// One-line notices for the user (a `[Database]` section that is ignored); the library
    /// does not print, the executables do.
    pub notices: Vec<String>,
}

/// An application directory found by discovery, before its tasks are loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppDir {
    pub name: String,
    /// Relative to the root, `/`-separated; `"."` for the root.
    pub dir: String,
    /// The absolute path of its `.app.toml`.
    pub config_file: PathBuf,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct App {
    pub name: String,
    /// Relative to the root, `/`-separated; `"."` for the root.
    pub dir: String,
    /// Its own tasks first, then those of its includes, in file order.
    pub tasks: Vec<Task>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Task {
    pub name: String,
    /// argv, run without a shell in the app dir.
    pub command: Vec<String>,
    pub inputs: Inputs,
    pub outputs: Outputs,
    /// The `.app.toml` and every include file the task was built from, relative to the root:
    /// always inputs, since changing them can change what the task does.
    pub config_files: Vec<String>,
}

impl Task {
    /// False for a task that declares no inputs of its own: its status is "Inputs Undefined"
    /// and it is never skipped (its config files do not count here).
    pub fn declares_inputs(&self) -> bool {
        let i = &self.inputs;
        !i.files.is_empty()
            || !i.env_vars.is_empty()
            || !i.golang.is_empty()
            || !i.task_infos.is_empty()
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Inputs {
    pub files: Vec<FileInput>,
    /// Globs removed from the matched files last; relative to the root like `FileInput::paths`.
    pub excluded: Vec<String>,
    pub env_vars: Vec<EnvVarInput>,
    pub golang: Vec<GolangInput>,
    pub task_infos: Vec<TaskInfoInput>,
}

/// Go packages whose source files (and those of everything they import) are inputs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GolangInput {
    /// `go list` package patterns, or `file=PATH` / `fileglob=GLOB` relative to the app dir.
    pub queries: Vec<String>,
    /// `NAME=VALUE` pairs: the whole environment `go list` sees besides `PATH`, `HOME`,
    /// `GOCACHE` and `XDG_CACHE_HOME`.
    pub environment: Vec<String>,
    pub build_flags: Vec<String>,
    /// Whether test files count too.
    pub tests: bool,
}

/// Another task of the same app whose total input digest is an input of this one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskInfoInput {
    pub task_name: String,
    /// Names the JSON file describing that task when this one runs.
    pub env_var: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileInput {
    /// Globs (`**` allowed), written relative to the app dir but stored relative to the root,
    /// `/`-separated and without `.`/`..`, because digests name files by repository path.
    pub paths: Vec<String>,
    /// A glob matching nothing is an error unless this is set.
    pub optional: bool,
    /// Drop untracked and ignored files.
    pub git_tracked_only: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvVarInput {
    /// Names or globs of names.
    pub names: Vec<String>,
    pub optional: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outputs {
    pub files: Vec<FileOutput>,
    pub docker_images: Vec<DockerImageOutput>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileOutput {
    /// Relative to the app dir, as written.
    pub path: String,
    pub file_copy: Vec<FileCopy>,
    pub s3_upload: Vec<S3Upload>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileCopy {
    /// The destination directory.
    pub path: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Upload {
    pub bucket: String,
    pub key: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DockerImageOutput {
    /// Relative to the app dir: the file `docker build --iidfile` writes.
    pub idfile: String,
    pub registry_upload: Vec<RegistryUpload>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryUpload {
    /// Empty: the docker CLI's default registry.
    pub registry: String,
    pub repository: String,
    pub tag: String,
}
