//! `baur init repo|app|include`: the example configuration files the original writes, with
//! the database replaced by the store.

use std::path::{Path, PathBuf};

use super::{fail, usage};

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

/// The original's example include file (`cfg.ExampleInclude`), each kind of include once.
/// baur writes it commented out, line by line ([`commented`]); uncommented it loads.
const INCLUDE_CONFIG: &str = "\
# Inputs, outputs and tasks that apps and tasks take in by reference, as
# includes = [\"{{ .Root }}/FILE#INCLUDE_ID\"].

[[Input]]

  # Identifies the include in this file.
  include_id = \"example_input\"

  [[Input.Files]]
    paths = [\"dbmigrations/*.sql\"]
    optional = false
    git_tracked_only = false

  [Input.ExcludedFiles]
    paths = [\"dbmigrations/1.sql\"]

  [[Input.EnvironmentVariables]]
    names = [\"APP_VERSION\"]
    optional = false

  [[Input.GolangSources]]
    queries = [\"./...\"]
    environment = [\"GOFLAGS=-mod=vendor\", \"GO111MODULE=on\"]
    build_flags = []
    tests = false

[[Output]]
  include_id = \"example_output\"

  [[Output.File]]
    path = \"dist/{{ .AppName }}.tar.xz\"

    [[Output.File.FileCopy]]
      path = \"/mnt/fileserver/build_artifacts/\"

    [[Output.File.S3Upload]]
      bucket = \"go-artifacts\"
      key = \"{{ .AppName }}-{{ gitCommit }}.tar.xz\"

  [[Output.DockerImage]]
    idfile = \"{{ .AppName }}-container.id\"

    [[Output.DockerImage.RegistryUpload]]
      registry = \"\"
      repository = \"my-company/{{ .AppName }}\"
      tag = \"{{ gitCommit }}\"

[[Task]]
  include_id = \"example_task\"
  name = \"check\"
  command = [\"make\", \"check\"]

  [Task.Input]

    [[Task.Input.Files]]
      paths = [\"Makefile\"]
";

/// Every line of `text` behind `# `, as baur's `ToFileOptCommented` writes it.
fn commented(text: &str) -> String {
    text.lines().map(|l| format!("# {l}\n")).collect()
}

/// The one line of an `init` given more arguments than it takes, in cobra's words (exit 2).
fn too_many(command: &str, args: &[String]) -> ! {
    usage(&format!(
        "baur {command}: accepts at most 1 arg(s), received {}",
        args.len()
    ))
}

/// `init include [FILENAME]`: `includes.toml` by default, `.toml` added when missing, in the
/// current directory (or `--repository`, which the original changes into first).
pub fn init_include(args: &[String], repository: Option<&str>) -> ! {
    let name = match args {
        [] => "includes.toml".to_string(),
        [n] if n.ends_with(".toml") => n.clone(),
        [n] => format!("{n}.toml"),
        _ => too_many("init include", args),
    };
    let path = repository.map_or_else(|| PathBuf::from(&name), |r| Path::new(r).join(&name));
    write_new(&path, &commented(INCLUDE_CONFIG), &name);
    println!("Include configuration file was written to {name}");
    std::process::exit(0)
}

pub fn init_repo(args: &[String]) -> ! {
    let dir = match args {
        [] => std::env::current_dir().unwrap_or_else(|e| fail(&e.to_string())),
        [d] => PathBuf::from(d),
        _ => too_many("init repo", args),
    };
    let path = dir.join(".baur.toml");
    write_new(&path, REPO_CONFIG, &path.display().to_string());
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
        _ => too_many("init app", args),
    };
    let path = cwd.join(".app.toml");
    write_new(&path, &app_config(&name), &path.display().to_string());
    println!("Application configuration file was written to .app.toml");
    std::process::exit(0)
}

/// Writes `text` to a new file at `path`, shown as `shown`: an existing one is an error in the
/// original's words.
fn write_new(path: &Path, text: &str, shown: &str) {
    use std::io::Write;
    let mut f = match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
    {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            fail(&format!("{shown} already exist"))
        }
        Err(e) => fail(&format!("cannot create {}: {e}", path.display())),
    };
    if let Err(e) = f.write_all(text.as_bytes()) {
        fail(&format!("cannot write {}: {e}", path.display()));
    }
}
