//! What the task tools share: their common flags, finding and loading the repository, their
//! one-line errors, and the environment section of their help.

use std::path::{Path, PathBuf};

use ci3::tasks::format::Format;
use ci3::tasks::Repo;

use crate::Tool;

/// `--repository`.
#[derive(clap::Args)]
pub struct RepositoryArg {
    /// The repository (default: the nearest directory upwards holding .baur.toml).
    #[arg(long)]
    pub repository: Option<PathBuf>,
}

impl RepositoryArg {
    /// The repository at or above `--repository` (else the working directory), its notices
    /// said, and the working directory, which targets are relative to.
    pub fn open(&self, tool: &Tool) -> anyhow::Result<(Repo, PathBuf)> {
        let cwd = std::env::current_dir()?;
        let start = match &self.repository {
            Some(dir) => cwd.join(dir),
            None => cwd.clone(),
        };
        let repo = Repo::open(&start, &tool.settings)?;
        for n in &repo.notices {
            tool.say(n);
        }
        Ok((repo, cwd))
    }
}

/// `--format`.
#[derive(clap::Args)]
pub struct FormatArg {
    /// Output format: plain, csv or json.
    #[arg(long, default_value = "plain")]
    pub format: Format,
}

/// `--format` and the original's older spelling `--csv`.
#[derive(clap::Args)]
pub struct OutputArgs {
    #[command(flatten)]
    pub format: FormatArg,
    /// Same as --format csv.
    #[arg(long)]
    pub csv: bool,
}

impl OutputArgs {
    pub fn format(&self) -> Format {
        if self.csv {
            Format::Csv
        } else {
            self.format.format
        }
    }
}

/// `-q`; what it leaves out differs by tool (`mut_arg("quiet", ...)` says it).
#[derive(clap::Args)]
pub struct QuietArg {
    /// No header line.
    #[arg(short, long)]
    pub quiet: bool,
}

/// `--input-str`.
#[derive(clap::Args)]
pub struct InputStrArg {
    /// A string that counts as an input of every task (repeatable).
    #[arg(long = "input-str")]
    pub input_str: Vec<String>,
}

/// `--input-str` and `--lookup-input-str`: the status of tasks.
#[derive(clap::Args)]
pub struct LookupArgs {
    #[command(flatten)]
    pub input_str: InputStrArg,
    /// When no run is found, look again with the input strings replaced by this one.
    #[arg(long = "lookup-input-str")]
    pub lookup_input_str: Option<String>,
}

/// The variables the task tools read, for `--help`.
pub const TASK_ENV: &str = "\
  Every variable is visible to {{ env \"NAME\" }} templates and EnvironmentVariables inputs.
  XDG_CACHE_HOME             where the index offsets are kept ($XDG_CACHE_HOME/ci3)";

/// `--require-clean-git-worktree`: an error naming the first few of `dirty`.
pub fn require_clean(dirty: &[String]) -> anyhow::Result<()> {
    if dirty.is_empty() {
        return Ok(());
    }
    let shown: Vec<&str> = dirty.iter().take(5).map(String::as_str).collect();
    let more = if dirty.len() > 5 {
        format!(" and {} more", dirty.len() - 5)
    } else {
        String::new()
    };
    anyhow::bail!(
        "--require-clean-git-worktree: the git work tree has modified or untracked files: {}{more}",
        shown.join(", ")
    )
}

/// The status of each task, its inputs resolved on this checkout (one index read for all), each
/// run a trusted reader refuses said on stderr.
pub fn statuses<'a>(
    tool: &Tool,
    repo: &Repo,
    selected: &ci3::store::Selected,
    tasks: &[ci3::tasks::targets::TaskRef<'a>],
    lookup: &LookupArgs,
) -> anyhow::Result<Vec<ci3::tasks::status::TaskStatus<'a>>> {
    let co = repo.checkout(&tool.settings)?;
    let files = ci3::git::FileIds::open(&co)?;
    let resolver = ci3::tasks::inputs::Resolver::new(
        &repo.root,
        &tool.settings,
        files,
        &lookup.input_str.input_str,
    );
    let statuses = ci3::tasks::status::evaluate(
        &resolver,
        selected.store.as_ref(),
        &selected.trust,
        tasks,
        lookup.lookup_input_str.as_deref(),
    )?;
    for s in &statuses {
        for why in &s.refused {
            tool.say(&format!("{}: {why}", s.task.id()));
        }
    }
    Ok(statuses)
}

/// Restores the outputs of the run that makes `s` `Exist` into its app directory, saying what
/// happened on stderr.
pub fn restore(
    tool: &Tool,
    selected: &ci3::store::Selected,
    root: &Path,
    s: &ci3::tasks::status::TaskStatus<'_>,
) -> anyhow::Result<()> {
    use ci3::tasks::restore::Restored;
    let id = s.task.id();
    let run = s
        .run
        .as_ref()
        .ok_or_else(|| anyhow::anyhow!("{id}: no successful run with its current inputs"))?;
    let record = ci3::tasks::records::load(selected.store.as_ref(), &selected.trust, &run.id)?
        .ok_or_else(|| anyhow::anyhow!("{id}: the record of run {} is missing", run.id))?;
    let app_dir = std::fs::canonicalize(root.join(&s.task.app.dir))?;
    let done =
        ci3::tasks::restore::restore(selected.store.as_ref(), &tool.settings, &record, &app_dir)
            .map_err(|e| anyhow::anyhow!("{id}: {e:#}"))?;
    if done.is_empty() {
        tool.say(&format!("{id}: run {} has no outputs", run.id));
    }
    for r in done {
        match r {
            Restored::File { path, size } => tool.say(&format!(
                "{id}: restored {path} (size: {size} B) from run {}",
                run.id
            )),
            Restored::Unchanged { path } => tool.say(&format!(
                "{id}: {path} is already as run {} made it",
                run.id
            )),
            Restored::Docker {
                idfile,
                image_id,
                pulled,
            } => tool.say(&format!(
                "{id}: restored {idfile}: docker image {image_id} {}",
                match pulled {
                    Some(name) => format!("pulled from {name}"),
                    None => "already in the local engine".to_string(),
                }
            )),
        }
    }
    Ok(())
}
