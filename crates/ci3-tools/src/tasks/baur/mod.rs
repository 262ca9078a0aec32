//! `baur ...`: the original task runner's command line mapped to the ci3 tool that runs each
//! command, and its `init` commands, which write configuration files.

use std::os::unix::process::CommandExt;
use std::path::PathBuf;

pub const HELP: &str = "\
baur: the command line of the baur task runner, run by ci3's task tools; run records live in
the ci3 store (CI3_STORE), no PostgreSQL.

Usage: baur [--repository DIR] [-v] [--no-color] COMMAND [ARGS...]

Commands:
  status [TARGET...]              task_status  (--format, --csv, -q, -f FIELDS, -s STATUS, -c, --abs-path,
                                               --input-str, --lookup-input-str)
  run [TARGET...]                 task_run     (-p N, -f, -s, -c, -o, --input-str, --lookup-input-str, --restore)
  ls apps [APP|DIR...]            task_ls apps (--format, --csv, -q, -f FIELDS, --abs-path)
  ls inputs TARGET|RUN_ID         task_inputs  (--digests, --format, --csv, -q, --input-str)
  ls runs [APP[.TASK]]            task_runs    (-a, -b, -l, -s FIELD-ORDER, --has-input, --format, --csv, -q)
  ls outputs RUN_ID               task_show --outputs (--format, --csv, -q)
  show TARGET|RUN_ID              task_show
  diff inputs A B                 task_diff    (--csv, -q, --input-str)
  verify [TARGET...]              task_verify  (-s/--from DATE)
  cleanup db --task-runs-before=DATE   task_gc (-p/--pretend, -f)
  init repo [DIR]                 writes .baur.toml
  init app [NAME]                 writes .app.toml in the current directory
Not here: release, init db, upgrade db (each says what to use instead).

Environment:
  The variables of the tool a command runs: see TOOL --help (CI3_STORE and the other store
  variables, CI3_SIGNING_KEY, CI3_TRUSTED_KEYS).

Exit status:
  that of the tool run: 0 ok, 1 error, 2 differ or issues found (diff inputs, verify),
  3 nothing to restore (task_restore); 1 for a command that is not supported here";

/// The original's repository file, with the database replaced by the store.
const REPO_CONFIG: &str = "\
# Version of the configuration format.
config_version = 7

# Application discovery settings.
[Discover]

  # List of directories containing applications, example: ['go/code', 'shop/']
  application_dirs = [\".\"]

  # Descend at most SearchDepth levels to find application configs.
  search_depth = 1

# Run records are kept in the ci3 store (CI3_STORE): no database to configure.
# [Database]
#   postgresql_url = \"postgres://postgres@localhost:5432/baur?sslmode=disable&connect_timeout=5\"
";

fn app_config(name: &str) -> String {
    format!(
        "\
# Application name
name = \"{name}\"

[[Task]]

  # Identifies the task, has to be unique per application.
  name = \"build\"

  # Command to execute, the first element is the command, the following its arguments.
  command = [\"make\", \"dist\"]

  # Inputs are tracked, when they change the task is rerun.
  [Task.Input]

    [[Task.Input.Files]]

      # Glob patterns that match files, relative to the application directory.
      paths = [\"dbmigrations/*.sql\"]

      # When true, a pattern matching no file is not an error.
      optional = false

      # Only files tracked by git are inputs.
      git_tracked_only = false

    # Files matching these glob patterns are not inputs.
    [Task.Input.ExcludedFiles]
      paths = [\"dbmigrations/1.sql\"]

    [[Task.Input.EnvironmentVariables]]

      # Names or glob patterns of environment variables whose values are inputs.
      names = [\"APP_VERSION\", \"{name}_*\"]

      # When true, a variable that is not set is not an error.
      optional = false

    [[Task.Input.GolangSources]]

      # Queries specifying the Go packages whose source files are inputs (go list patterns,
      # file=PATH, fileglob=GLOB).
      queries = [\"./...\"]

      # The environment go list runs with.
      environment = [\"GOFLAGS=-mod=vendor\", \"GO111MODULE=on\"]

      # Build flags for go list.
      build_flags = [\"-tags=linux\"]

      # Whether test files are inputs too.
      tests = false

  [Task.Output]

    [[Task.Output.DockerImage]]

      # Path of a file holding the id of the image the command built (docker build --iidfile).
      idfile = \"{{{{ .AppName }}}}-container.id\"

      [[Task.Output.DockerImage.RegistryUpload]]
        registry = \"\"
        repository = \"my-company/{{{{ .AppName }}}}\"
        tag = \"{{{{ env \\\"BRANCH_NAME\\\" }}}}-{{{{ gitCommit }}}}\"

    [[Task.Output.File]]

      # Path of the output file, relative to the application directory.
      path = \"dist/{{{{ .AppName }}}}.tar.xz\"

      [[Task.Output.File.FileCopy]]
        # Destination directory.
        path = \"/mnt/fileserver/build_artifacts/\"

      [[Task.Output.File.S3Upload]]
        bucket = \"go-artifacts\"
        key = \"{{{{ .AppName }}}}-{{{{ gitCommit }}}}.tar.xz\"
"
    )
}

pub fn fail(line: &str) -> ! {
    eprintln!("baur: {line}");
    std::process::exit(1)
}

/// Replaces this process with `tool` (beside this executable, else on PATH) and `args`.
pub fn exec(tool: &str, args: Vec<String>) -> ! {
    let beside = std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(|d| d.join(tool)))
        .filter(|p| p.is_file());
    let program: PathBuf = beside.unwrap_or_else(|| PathBuf::from(tool));
    let err = std::process::Command::new(&program).args(&args).exec();
    fail(&format!("cannot run {}: {err}", program.display()))
}

pub fn init_repo(args: &[String]) -> ! {
    let dir = match args {
        [] => std::env::current_dir().unwrap_or_else(|e| fail(&e.to_string())),
        [d] => PathBuf::from(d),
        _ => fail("init repo: accepts at most 1 arg"),
    };
    let path = dir.join(".baur.toml");
    write_new(&path, REPO_CONFIG);
    println!("Repository configuration was written to {}", path.display());
    println!(
        "\nNext Steps:\n1. Adapt your '.baur.toml' configuration file, ensure the 'application_dirs' parameter is correct\n\
         2. Set CI3_STORE to where run records and outputs are kept (default: a directory store under $XDG_CACHE_HOME/ci3)\n\
         3. Run 'baur init app' to create application configuration files"
    );
    std::process::exit(0)
}

pub fn init_app(args: &[String], repository: Option<&str>) -> ! {
    let cwd = std::env::current_dir().unwrap_or_else(|e| fail(&e.to_string()));
    let start = repository.map_or_else(|| cwd.clone(), |r| cwd.join(r));
    if let Err(e) = ci3::tasks::find_root(&start) {
        fail(&e.to_string());
    }
    let name = match args {
        [] => cwd
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| fail("init app: the current directory has no name, give one")),
        [n] => n.clone(),
        _ => fail("init app: accepts at most 1 arg"),
    };
    write_new(&cwd.join(".app.toml"), &app_config(&name));
    println!("Application configuration file was written to .app.toml");
    std::process::exit(0)
}

fn write_new(path: &std::path::Path, text: &str) {
    use std::io::Write;
    let mut f = match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
    {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            fail(&format!("{} already exist", path.display()))
        }
        Err(e) => fail(&format!("cannot create {}: {e}", path.display())),
    };
    if let Err(e) = f.write_all(text.as_bytes()) {
        fail(&format!("cannot write {}: {e}", path.display()));
    }
}

/// What a `baur` command line asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// `--help` and the like: this text on stdout, exit 0.
    Print(String),
    /// Run this tool with these arguments in this process's place.
    Exec(&'static str, Vec<String>),
    /// `init repo [DIR]`.
    InitRepo(Vec<String>),
    /// `init app [NAME]`, and `--repository` when given.
    InitApp(Vec<String>, Option<String>),
    /// A line on stderr, exit 0 (a command that has nothing to do here).
    Note(String),
    /// A line on stderr, exit 1 (a command that is not supported, or a wrong one).
    Fail(String),
}

/// The action of the arguments `args` (without the program name).
pub fn action(args: impl IntoIterator<Item = String>) -> Action {
    let mut repository: Option<String> = None;
    let mut words: Vec<String> = Vec::new();
    let mut it = args.into_iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "-v" | "--verbose" | "--no-color" => {}
            "--cpu-prof" => {
                it.next();
            }
            "--repository" => {
                let Some(dir) = it.next() else {
                    return Action::Fail("--repository: needs a directory".into());
                };
                repository = Some(dir)
            }
            "--csv" => words.push(a),
            _ => match a.strip_prefix("--repository=") {
                Some(r) => repository = Some(r.to_string()),
                None if a.starts_with("--cpu-prof=") => {}
                None => words.push(a),
            },
        }
    }
    // `status --csv` stays itself: the original's `--csv` has no header row, its newer
    // `--format csv` has one. The other commands take it as `--format=csv`.
    if words.first().is_none_or(|w| w != "status") {
        for w in words.iter_mut().filter(|w| *w == "--csv") {
            *w = "--format=csv".into();
        }
    }
    let with_repo = |mut args: Vec<String>| {
        if let Some(r) = &repository {
            args.push("--repository".into());
            args.push(r.clone());
        }
        args
    };
    let first = words.first().map(String::as_str);
    let rest = |n: usize| words.get(n..).map(<[String]>::to_vec).unwrap_or_default();
    match first {
        None | Some("-h") | Some("--help") | Some("help") => Action::Print(HELP.into()),
        Some("--version") | Some("version") => {
            Action::Print(format!("baur {}", env!("CARGO_PKG_VERSION")))
        }
        Some("status") => Action::Exec("task_status", with_repo(rest(1))),
        Some("run") => Action::Exec("task_run", with_repo(rest(1))),
        Some("show") => Action::Exec("task_show", with_repo(rest(1))),
        Some("verify") => Action::Exec("task_verify", with_repo(rest(1))),
        Some("diff") => match words.get(1).map(String::as_str) {
            Some("inputs") => Action::Exec("task_diff", with_repo(rest(2))),
            Some(other) => Action::Fail(format!("diff {other}: unknown command, use diff inputs")),
            None => Action::Fail("diff: give a subcommand: inputs".into()),
        },
        Some("ls") => match words.get(1).map(String::as_str) {
            Some("apps") => {
                let mut a = vec!["apps".to_string()];
                a.extend(rest(2));
                Action::Exec("task_ls", with_repo(a))
            }
            Some("tasks") => {
                let mut a = vec!["tasks".to_string()];
                a.extend(rest(2));
                Action::Exec("task_ls", with_repo(a))
            }
            Some("inputs") => Action::Exec("task_inputs", with_repo(rest(2))),
            Some("runs") => Action::Exec("task_runs", with_repo(rest(2))),
            Some("outputs") => {
                let mut a = vec!["--outputs".to_string()];
                a.extend(rest(2));
                Action::Exec("task_show", with_repo(a))
            }
            Some(other) => Action::Fail(format!(
                "ls {other}: unknown command, use ls apps|inputs|runs|outputs"
            )),
            None => Action::Fail("ls: give a subcommand: apps, inputs, runs or outputs".into()),
        },
        Some("cleanup") => match words.get(1).map(String::as_str) {
            Some("db") => Action::Exec("task_gc", rest(2)),
            Some(other) => Action::Fail(format!("cleanup {other}: unknown command, use cleanup db")),
            None => Action::Fail("cleanup: give a subcommand: db".into()),
        },
        Some("init") => match words.get(1).map(String::as_str) {
            Some("repo") => Action::InitRepo(rest(2)),
            Some("app") => Action::InitApp(rest(2), repository.clone()),
            Some("db") => Action::Fail(
                "init db: there is no database, runs are recorded in the ci3 store: set CI3_STORE (a directory or s3://BUCKET/PREFIX)"
                .into(),
            ),
            Some(other) => Action::Fail(format!("init {other}: not supported here, use init repo or init app")),
            None => Action::Fail("init: give a subcommand: repo or app".into()),
        },
        Some("upgrade") => match words.get(1).map(String::as_str) {
            Some("db") => Action::Fail(
                "upgrade db: there is no database to upgrade, runs are recorded in the ci3 store (CI3_STORE)"
                .into(),
            ),
            Some("configs") => Action::Note(
                "baur: upgrade configs: config versions 5, 6 and 7 are read as they are, nothing to upgrade".into(),
            ),
            _ => Action::Fail("upgrade: give a subcommand: configs".into()),
        },
        Some("release") => Action::Fail(
            "release: not supported, restore a task's outputs with task_restore (or baur run --restore) and publish them with cache_upload"
                .into(),
        ),
        Some(other) => Action::Fail(format!("unknown command \"{other}\", see baur --help")),
    }
}
