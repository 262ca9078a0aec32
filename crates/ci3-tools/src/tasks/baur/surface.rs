//! A task tool run by `baur` for one of its commands: argument 0 is `baur COMMAND`, so the tool
//! names that command in its messages and its usage errors, and prints what baur prints where
//! CI jobs parse it (the task tools' own formats stay as they are).

use std::sync::OnceLock;

/// baur's usage line of each command a tool runs for (the `Use` of its cobra command).
const USAGE: &[(&str, &str)] = &[
    ("status", "baur status [TARGET|APP_DIR]..."),
    ("run", "baur run [TARGET|APP_DIR]..."),
    ("show", "baur show APP_NAME|APP_DIR|TASK_ID|RUN_ID"),
    ("verify", "baur verify"),
    ("ls apps", "baur ls apps [APP_NAME|APP_DIR]..."),
    ("ls tasks", "baur ls tasks [TARGET|APP_DIR]..."),
    ("ls inputs", "baur ls inputs APP_NAME.TASK_NAME|RUN_ID"),
    ("ls runs", "baur ls runs APP_NAME[.TASK_NAME]"),
    ("ls outputs", "baur ls outputs RUN_ID"),
    (
        "diff inputs",
        "baur diff inputs APP_NAME.TASK_NAME|RUN_ID APP_NAME.TASK_NAME|RUN_ID",
    ),
    ("cleanup db", "baur cleanup db --task-runs-before=DATETIME"),
];

/// `baur ls apps` when `baur` ran this tool for `ls apps`; `None` when run as itself.
pub fn invoked_as() -> Option<&'static str> {
    static INVOKED: OnceLock<Option<String>> = OnceLock::new();
    INVOKED
        .get_or_init(|| {
            let arg0 = std::env::args_os().next()?;
            let arg0 = arg0.to_str()?;
            arg0.starts_with("baur ").then(|| arg0.to_string())
        })
        .as_deref()
}

/// The name this tool's messages go under: `tool`, or the baur command it runs for.
pub fn name(tool: &'static str) -> &'static str {
    invoked_as().unwrap_or(tool)
}

/// Parses the command line as [`crate::parse`] does, a usage error exiting `usage_code`; run for
/// a baur command, a usage error is one line naming that command, with baur's usage of it, and
/// exits 1 as baur's does (its `log.Fatalln`), since 2 is `diff inputs`' "differ".
pub fn parse<T: clap::Parser>(usage_code: i32) -> T {
    let Some(invoked) = invoked_as() else {
        return crate::parse(usage_code);
    };
    match T::try_parse() {
        Ok(args) => args,
        Err(err) if !err.use_stderr() => {
            let _ = err.print();
            std::process::exit(0)
        }
        Err(err) => {
            let command = invoked.strip_prefix("baur ").unwrap_or(invoked);
            let usage = USAGE
                .iter()
                .find(|(c, _)| *c == command)
                .map_or(invoked, |(_, u)| u);
            eprintln!("{invoked}: {} (usage: {usage} [flags])", reason(&err));
            std::process::exit(1)
        }
    }
}

/// The first paragraph of clap's message on one line, without its `error: `.
fn reason(err: &clap::Error) -> String {
    let text = err.render().to_string();
    let words: Vec<&str> = text
        .lines()
        .map(str::trim)
        .take_while(|l| !l.is_empty())
        .collect();
    let line = words.join(" ");
    line.strip_prefix("error: ").unwrap_or(&line).to_string()
}
