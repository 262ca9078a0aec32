//! What the task tools share: finding and loading the repository, their one-line errors, and
//! the environment section of their help.

use std::path::{Path, PathBuf};

use ci3::tasks::Repo;

use crate::Tool;

/// The variables the task tools read, for `--help`.
pub const TASK_ENV: &str = "\
  Every variable is visible to {{ env \"NAME\" }} templates and EnvironmentVariables inputs.
  XDG_CACHE_HOME             where the index offsets are kept ($XDG_CACHE_HOME/ci3)";

/// Runs a task tool's body: an error is one line `tool: message` on stderr and exit 1.
pub fn run(tool: &str, body: impl FnOnce() -> anyhow::Result<i32>) -> ! {
    let code = match body() {
        Ok(code) => code,
        Err(err) => {
            eprintln!("{tool}: {}", crate::one_line(&format!("{err:#}")));
            1
        }
    };
    std::process::exit(code)
}

/// The directory targets are relative to, and where the root is searched from.
pub fn start_dir(repository: Option<&Path>) -> anyhow::Result<PathBuf> {
    let cwd = std::env::current_dir()?;
    Ok(match repository {
        Some(dir) => cwd.join(dir),
        None => cwd,
    })
}

/// The repository, its configuration notices said.
pub fn open(tool: &Tool, start: &Path) -> anyhow::Result<Repo> {
    let repo = Repo::open(start, &tool.settings)?;
    for n in &repo.notices {
        tool.say(n);
    }
    Ok(repo)
}
