//! Rendering a trace's findings for `cache_trace` and `task_trace`: text lines or JSON.

use ci3::trace::Findings;

/// How findings are printed.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
}

/// The lines of `f` (stdout), each prefixed with `prefix` (a task id and a space, or nothing).
pub fn text(prefix: &str, f: &Findings) -> String {
    let mut out = String::new();
    for u in &f.undeclared {
        out += &format!(
            "{prefix}undeclared read: {} (covered by: {})\n",
            u.path, u.suggest
        );
    }
    for u in f.undeclared_probes.iter().flatten() {
        out += &format!(
            "{prefix}undeclared probe: {} (covered by: {})\n",
            u.path, u.suggest
        );
    }
    for u in &f.unread {
        out += &format!("{prefix}never read: {u}\n");
    }
    for w in &f.written {
        out += &format!("{prefix}written outside the outputs: {w}\n");
    }
    if f.outside.count > 0 {
        let top: Vec<String> = f
            .outside
            .top
            .iter()
            .map(|(d, n)| format!("{d} {n}"))
            .collect();
        out += &format!(
            "{prefix}outside the repository: {} files read ({})\n",
            f.outside.count,
            top.join(", ")
        );
        for file in &f.outside.files {
            out += &format!("{prefix}outside read: {file}\n");
        }
    }
    out
}

/// How the traced command ended, for stderr: `None` when it succeeded.
pub fn failure(f: &Findings) -> Option<String> {
    match (f.exit, f.signal) {
        (Some(0), _) => None,
        (Some(code), _) => Some(format!("the command exited with code {code}")),
        (None, Some(sig)) => Some(format!(
            "the command was killed by signal {sig} ({})",
            ci3::trace::signal_name(sig)
        )),
        (None, None) => Some("the command's end is unknown".into()),
    }
}

/// The summary line for stderr.
pub fn summary(f: &Findings) -> String {
    let probes = match &f.undeclared_probes {
        Some(p) => format!(", {} undeclared probes", p.len()),
        None => String::new(),
    };
    format!(
        "{} processes traced; {} undeclared reads, {} never read, {} written outside the outputs{probes}",
        f.processes,
        f.undeclared.len(),
        f.unread.len(),
        f.written.len()
    )
}

/// `task_run`'s tracing options.
#[derive(clap::Args)]
pub struct TraceArgs {
    /// Run each task's command traced and report, per task, the files it read that no input
    /// covers, the inputs it never read and the files it wrote outside its outputs and app
    /// directory (exit 1 when something undeclared was read).
    #[arg(long)]
    pub trace: bool,
    /// With --trace: list every file read outside the repository instead of a summary.
    #[arg(long, requires = "trace")]
    pub all: bool,
    /// With --trace: how the findings are printed on stdout.
    #[arg(long, value_enum, default_value = "text", requires = "trace")]
    pub format: Format,
    /// With --trace: trace stat, access and readlink too, and report the repository paths a
    /// task only probed (`[ -f FILE ]`): those no input covers as "undeclared probe", all of
    /// them in --format json ("probed"). Slower: git lstats every tracked file.
    #[arg(long, requires = "trace")]
    pub probes: bool,
}

impl TraceArgs {
    /// The traces' collector for the run, when tracing.
    pub fn tasks(&self, root: &std::path::Path) -> Option<ci3::trace::Tasks> {
        let opts = ci3::trace::Options {
            all: self.all,
            probes: self.probes,
        };
        self.trace.then(|| ci3::trace::Tasks::new(root, opts))
    }
}

/// Prints the findings of the traced tasks; the exit code: the run's own when it failed, else
/// 1 when a task read something undeclared.
pub fn finish(
    tool: &crate::Tool,
    args: &TraceArgs,
    traces: Option<ci3::trace::Tasks>,
    tasks: &[ci3::tasks::status::TaskStatus<'_>],
    code: i32,
) -> i32 {
    let Some(traces) = traces else {
        return code;
    };
    let found = traces.findings(tasks);
    match args.format {
        Format::Text => {
            for f in &found {
                print!("{}", text(&format!("{}: ", f.task), &f.findings));
            }
        }
        Format::Json => match serde_json::to_string_pretty(&found) {
            Ok(json) => println!("{json}"),
            Err(e) => tool.say(&format!("cannot render the findings: {e}")),
        },
    }
    for f in &found {
        tool.say(&format!("{}: {}", f.task, summary(&f.findings)));
        if let Some(why) = failure(&f.findings) {
            tool.say(&format!("{}: {why}", f.task));
        }
    }
    if code != 0 {
        code
    } else {
        i32::from(found.iter().any(|f| f.findings.dirty()))
    }
}
