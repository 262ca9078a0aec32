//! The task runner's configuration read from real files: the merged structure of a full app,
//! each validation error as the exact line a user sees, and discovery.

use std::fs;
use std::path::{Path, PathBuf};

use ci3::tasks::*;

const REPO: &str =
    "config_version = 7\n[Discover]\napplication_dirs = [\".\"]\nsearch_depth = 10\n";

/// A repository root (canonical, as `find_root` returns it) with the given files.
fn repo(files: &[(&str, &str)]) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let root = fs::canonicalize(dir.path()).unwrap();
    for (path, text) in files {
        let path = root.join(path);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    }
    (dir, root)
}

/// The environment the tools would see (templates read `{{ env "NAME" }}` from it).
fn settings() -> &'static ci3::settings::Settings {
    static SETTINGS: std::sync::LazyLock<ci3::settings::Settings> =
        std::sync::LazyLock::new(ci3::settings::Settings::from_env);
    &SETTINGS
}

fn ctx(root: &Path) -> Context<'static> {
    Context::new(root, settings(), || Ok("0123abcd".into()))
}

/// Loads the app in `dir` (relative to the root) the way a tool would.
fn load(root: &Path, dir: &str) -> ci3::Result<App> {
    let app = AppDir {
        name: String::new(),
        dir: dir.into(),
        config_file: root.join(dir).join(APP_CONFIG),
    };
    load_app(&ctx(root), &app)
}

/// The one-line error of loading a single app `calc/.app.toml` with this text.
fn app_error(text: &str) -> String {
    let (_d, root) = repo(&[("calc/.app.toml", text)]);
    format!("{:#}", load(&root, "calc").unwrap_err())
}

fn repo_error(text: &str) -> String {
    let (_d, root) = repo(&[(REPO_CONFIG, text)]);
    format!("{:#}", load_repo_config(&root).unwrap_err())
}

const FULL_APP: &str = r#"
name = "calc"
includes = ["{{ .Root }}/includes.toml#lint_task"]

[[Task]]
  name = "build"
  command = ["./build.sh", "{{ .AppName }}-{{ gitCommit }}", "{{ env \"PATH\" }}"]
  includes = ["../includes.toml#c_inputs", "../includes.toml#tarball"]
  [Task.Input]
    [[Task.Input.Files]]
      paths = ["src/**/*.c", "../lib/*.h", "{{ .Root }}/go.mod"]
      optional = false
      git_tracked_only = true
    [Task.Input.ExcludedFiles]
      paths = ["**/*.md"]
    [[Task.Input.EnvironmentVariables]]
      names = ["CC", "CFLAGS_*"]
      optional = true
  [Task.Output]
    [[Task.Output.File]]
      path = "dist/calc"
      [[Task.Output.File.FileCopy]]
        path = "/srv/artifacts/calc"
      [[Task.Output.File.S3Upload]]
        bucket = "releases"
        key = "calc/{{ gitCommit }}/calc"
    [[Task.Output.DockerImage]]
      idfile = "image.id"
      [[Task.Output.DockerImage.RegistryUpload]]
        registry = "registry.example.com"
        repository = "team/{{ .AppName }}"
        tag = "{{ gitCommit }}"

[[Task]]
  name = "check"
  command = ["make", "check"]
"#;

const INCLUDES: &str = r#"
[[Input]]
  include_id = "c_inputs"
  [[Input.Files]]
    paths = ["Makefile"]
  [Input.ExcludedFiles]
    paths = ["src/generated.c"]
  [[Input.EnvironmentVariables]]
    names = ["{{ .AppName }}_FLAGS"]

[[Output]]
  include_id = "tarball"
  [[Output.File]]
    path = "dist/{{ .AppName }}.tar"

[[Task]]
  include_id = "lint_task"
  name = "lint"
  command = ["lint"]
  includes = ["lint.toml#lint_inputs"]
"#;

const LINT: &str = r#"
[[Input]]
  include_id = "lint_inputs"
  [[Input.Files]]
    paths = [".lint"]
    optional = true
"#;

#[test]
fn a_full_app_with_includes_and_templates() {
    // PATH: a variable that is set, without changing the environment of parallel tests
    let path = std::env::var("PATH").unwrap();
    let (_d, root) = repo(&[
        (REPO_CONFIG, REPO),
        ("apps/calc/.app.toml", FULL_APP),
        // the task includes, by a path relative to the app file
        ("apps/includes.toml", INCLUDES),
        // the app include, by {{ .Root }}; its task's include is relative to it
        ("includes.toml", INCLUDES),
        ("lint.toml", LINT),
    ]);
    let app = load(&root, "apps/calc").unwrap();
    let expected = App {
        name: "calc".into(),
        dir: "apps/calc".into(),
        tasks: vec![
            Task {
                name: "build".into(),
                command: vec!["./build.sh".into(), "calc-0123abcd".into(), path],
                inputs: Inputs {
                    files: vec![
                        FileInput {
                            paths: vec![
                                "apps/calc/src/**/*.c".into(),
                                "apps/lib/*.h".into(),
                                "go.mod".into(),
                            ],
                            optional: false,
                            git_tracked_only: true,
                        },
                        FileInput {
                            paths: vec!["apps/calc/Makefile".into()],
                            optional: false,
                            git_tracked_only: false,
                        },
                    ],
                    excluded: vec![
                        "apps/calc/**/*.md".into(),
                        "apps/calc/src/generated.c".into(),
                    ],
                    env_vars: vec![
                        EnvVarInput {
                            names: vec!["CC".into(), "CFLAGS_*".into()],
                            optional: true,
                        },
                        EnvVarInput {
                            names: vec!["calc_FLAGS".into()],
                            optional: false,
                        },
                    ],
                    ..Default::default()
                },
                outputs: Outputs {
                    files: vec![
                        FileOutput {
                            path: "dist/calc".into(),
                            file_copy: vec![FileCopy {
                                path: "/srv/artifacts/calc".into(),
                            }],
                            s3_upload: vec![S3Upload {
                                bucket: "releases".into(),
                                key: "calc/0123abcd/calc".into(),
                            }],
                        },
                        FileOutput {
                            path: "dist/calc.tar".into(),
                            file_copy: vec![],
                            s3_upload: vec![],
                        },
                    ],
                    docker_images: vec![DockerImageOutput {
                        idfile: "image.id".into(),
                        registry_upload: vec![RegistryUpload {
                            registry: "registry.example.com".into(),
                            repository: "team/calc".into(),
                            tag: "0123abcd".into(),
                        }],
                    }],
                },
                config_files: vec!["apps/calc/.app.toml".into(), "apps/includes.toml".into()],
            },
            Task {
                name: "check".into(),
                command: vec!["make".into(), "check".into()],
                inputs: Inputs::default(),
                outputs: Outputs::default(),
                config_files: vec!["apps/calc/.app.toml".into()],
            },
            Task {
                name: "lint".into(),
                command: vec!["lint".into()],
                inputs: Inputs {
                    files: vec![FileInput {
                        paths: vec!["apps/calc/.lint".into()],
                        optional: true,
                        git_tracked_only: false,
                    }],
                    ..Inputs::default()
                },
                outputs: Outputs::default(),
                config_files: vec![
                    "apps/calc/.app.toml".into(),
                    "includes.toml".into(),
                    "lint.toml".into(),
                ],
            },
        ],
    };
    assert_eq!(app, expected);
    assert!(app.tasks[0].declares_inputs());
    assert!(!app.tasks[1].declares_inputs());
}

#[test]
fn the_commit_is_not_asked_for_unless_used() {
    let (_d, root) = repo(&[(
        "a/.app.toml",
        "name = \"a\"\n[[Task]]\nname = \"t\"\ncommand = [\"{{ .Root }}/x\"]\n",
    )]);
    let ctx = Context::new(&root, settings(), || Err(ci3::err!(Failed, "not a commit")));
    let app = AppDir {
        name: "a".into(),
        dir: "a".into(),
        config_file: root.join("a/.app.toml"),
    };
    let loaded = load_app(&ctx, &app).unwrap();
    assert_eq!(loaded.tasks[0].command, [format!("{}/x", root.display())]);

    fs::write(
        root.join("a/.app.toml"),
        "name = \"a\"\n[[Task]]\nname = \"t\"\ncommand = [\"{{ gitCommit }}\"]\n",
    )
    .unwrap();
    assert_eq!(
        format!("{:#}", load_app(&ctx, &app).unwrap_err()),
        "a/.app.toml: Task \"t\".command[0]: {{ gitCommit }}: not a commit"
    );
}

/// baur's own `var_in_include` test repository: the spellings of three baur releases side by
/// side (`$ROOT`, `{{ .Root }}`, `{{ .root }}`/`{{ .appname }}`), all meaning the same.
#[test]
fn every_baur_spelling_of_the_template_values() {
    let tasks =
        "[[Task]]\n  include_id = \"build\"\n  includes = [\"{{ .root }}/inputs.toml#input\"]\n  \
                 name = \"build\"\n  command = [\"more\", \"{{ .appname }}.txt\"]\n";
    let inputs = "[[Input]]\n  include_id = \"input\"\n  [[Input.Files]]\n    paths = [\"{{ .appname }}.txt\"]\n";
    let (_d, root) = repo(&[
        (
            "app1/.app.toml",
            "name = \"app1\"\nincludes = [\"$ROOT/tasks.toml#build\"]\n",
        ),
        (
            "app2/.app.toml",
            "name = \"app2\"\nincludes = [\"{{ .Root }}/tasks.toml#build\"]\n",
        ),
        ("tasks.toml", tasks),
        ("inputs.toml", inputs),
    ]);
    for name in ["app1", "app2"] {
        let app = load(&root, name).unwrap();
        let task = &app.tasks[0];
        assert_eq!(task.name, "build");
        assert_eq!(task.command, ["more", &format!("{name}.txt")]);
        assert_eq!(task.inputs.files[0].paths, [format!("{name}/{name}.txt")]);
    }
}

#[test]
fn repo_config_and_database_notice() {
    let (_d, root) = repo(&[(
        REPO_CONFIG,
        "config_version = 7\n[Database]\npostgresql_url = \"postgres://x\"\n[Discover]\napplication_dirs = [\"apps\", \"./tools/\"]\nsearch_depth = 3\n",
    )]);
    let cfg = load_repo_config(&root).unwrap();
    assert_eq!(
        cfg,
        RepoConfig {
            application_dirs: vec!["apps".into(), "tools".into()],
            search_depth: 3,
            notices: vec![
                "notice: [Database] in .baur.toml is ignored: runs are recorded in the store"
                    .into()
            ],
        }
    );
    let (_d, root) = repo(&[(REPO_CONFIG, REPO)]);
    assert_eq!(
        load_repo_config(&root).unwrap().notices,
        Vec::<String>::new()
    );
}

#[test]
fn versions_5_and_6_are_read_as_they_are() {
    for v in [5, 6] {
        let text = REPO.replace("config_version = 7", &format!("config_version = {v}"));
        let (_d, root) = repo(&[(REPO_CONFIG, &text)]);
        assert_eq!(load_repo_config(&root).unwrap().application_dirs, ["."]);
    }
}

#[test]
fn golang_sources_and_task_infos_are_read() {
    let (_d, root) = repo(&[(
        "svc/.app.toml",
        &task(
            "[[Task.Input.GolangSources]]\nqueries = [\"./...\", \"fileglob={{ .AppName }}/*.go\"]\n\
             environment = [\"GOFLAGS=-mod=vendor\"]\nbuild_flags = [\"-tags=x\"]\ntests = true\n\
             [[Task]]\nname = \"image\"\ncommand = [\"y\"]\n\
             [[Task.Input.TaskInfos]]\ntask_name = \"build\"\nenv_var = \"BUILD_INFO\"\n",
        ),
    )]);
    let app = load(&root, "svc").unwrap();
    assert_eq!(
        app.tasks[0].inputs.golang,
        [GolangInput {
            queries: vec!["./...".into(), "fileglob=calc/*.go".into()],
            environment: vec!["GOFLAGS=-mod=vendor".into()],
            build_flags: vec!["-tags=x".into()],
            tests: true,
        }]
    );
    assert_eq!(
        app.tasks[1].inputs.task_infos,
        [TaskInfoInput {
            task_name: "build".into(),
            env_var: "BUILD_INFO".into(),
        }]
    );
    assert!(app.tasks[0].declares_inputs() && app.tasks[1].declares_inputs());
}

#[test]
fn repo_config_errors() {
    assert_eq!(
        repo_error("config_version = 4\n[Discover]\napplication_dirs = [\".\"]\n"),
        ".baur.toml: config_version: 4 is not supported (expected 5, 6 or 7)"
    );
    assert_eq!(
        repo_error("[Discover]\napplication_dirs = [\".\"]\n"),
        ".baur.toml: config_version: missing (expected 5, 6 or 7)"
    );
    assert_eq!(
        repo_error("config_version = 7\n[Discover]\napplication_dirs = [\".\"]\nsearch_dept = 1\n"),
        ".baur.toml:4: Discover: unknown key `search_dept`, expected `application_dirs` or `search_depth`"
    );
    assert_eq!(
        repo_error(
            "config_version = 7\n[Discover]\napplication_dirs = [\".\"]\nsearch_depth = 11\n"
        ),
        ".baur.toml: Discover.search_depth: 11 is out of range 0..=10"
    );
    assert_eq!(
        repo_error("config_version = 7\n[Discover]\napplication_dirs = []\n"),
        ".baur.toml: Discover.application_dirs: must not be empty"
    );
    assert_eq!(
        repo_error("config_version = 7\n[Discover]\napplication_dirs = [\"../x\"]\n"),
        ".baur.toml: Discover.application_dirs[0]: \"../x\" is not a directory inside the repository"
    );
    assert_eq!(
        repo_error("config_version = 7\n[Discover]\napplication_dirs = \".\"\n"),
        ".baur.toml:3: Discover.application_dirs: invalid type: string \".\", expected a sequence"
    );
    assert_eq!(
        repo_error("config_version = 7\n"),
        ".baur.toml:1: missing key `Discover`"
    );
}

#[test]
fn unknown_keys_and_wrong_types() {
    assert_eq!(
        app_error("name = \"calc\"\n[[Task]]\nname = \"b\"\ncomand = [\"x\"]\n"),
        "calc/.app.toml:4: Task: unknown key `comand`, expected one of `include_id`, `name`, \
         `command`, `includes`, `Input`, `Output`"
    );
    assert_eq!(
        app_error("name = \"calc\"\n[[Task]]\nname = \"b\"\ncommand = [\"x\"]\n[Task.Input]\n[[Task.Input.Files]]\npath = [\"a\"]\n"),
        "calc/.app.toml:7: Task.Input.Files: unknown key `path`, expected one of `paths`, `optional`, \
         `git_tracked_only`"
    );
    assert_eq!(
        app_error("name = \"calc\"\n[[Task]]\nname = \"b\"\ncommand = [\"x\"]\n[Task.Inputs]\n"),
        "calc/.app.toml:5: Task: unknown key `Inputs`, expected one of `include_id`, `name`, \
         `command`, `includes`, `Input`, `Output`"
    );
    assert_eq!(
        app_error("name = \"calc\"\n[[Task]]\nname = \"b\"\ncommand = \"x\"\n"),
        "calc/.app.toml:4: Task.command: invalid type: string \"x\", expected a sequence"
    );
    assert_eq!(
        app_error("name = 3\n"),
        "calc/.app.toml:1: name: invalid type: integer `3`, expected a string"
    );
    assert_eq!(
        app_error("name = \"calc\n"),
        "calc/.app.toml:1: name: unterminated string"
    );
}

/// The task header shared by the cases below.
fn task(body: &str) -> String {
    format!("name = \"calc\"\n[[Task]]\nname = \"build\"\ncommand = [\"x\"]\n{body}")
}

#[test]
fn validation_errors() {
    let cases: &[(String, &str)] = &[
        ("[[Task]]\nname = \"b\"\ncommand = [\"x\"]\n".into(), "calc/.app.toml: name: missing or empty"),
        ("name = \"\"\n".into(), "calc/.app.toml: name: missing or empty"),
        (
            "name = \"my.app\"\n".into(),
            "calc/.app.toml: name: invalid name \"my.app\": '.' character not allowed in name",
        ),
        (
            "name = \"calc\"\n[[Task]]\nname = \"a,b\"\ncommand = [\"x\"]\n".into(),
            "calc/.app.toml: Task[0].name: invalid name \"a,b\": ',' character not allowed in name",
        ),
        (
            "name = \"my\\u0007app\"\n".into(),
            "calc/.app.toml: name: invalid name \"my\\x07app\": contains non-printable character: '\\x07'",
        ),
        (
            task("[Task.Output]\n[[Task.Output.File]]\npath = \"../../x\"\n"),
            "calc/.app.toml: Task \"build\".Output.File[0].path: \"../../x\" leaves the app directory",
        ),
        (
            task("[Task.Output]\n[[Task.Output.File]]\npath = \"/etc/x\"\n"),
            "calc/.app.toml: Task \"build\".Output.File[0].path: \"/etc/x\" is outside the app directory",
        ),
        (
            task("[Task.Output]\n[[Task.Output.DockerImage]]\nidfile = \"../id\"\n"),
            "calc/.app.toml: Task \"build\".Output.DockerImage[0].idfile: \"../id\" leaves the app directory",
        ),
        (
            "name = \"calc\"\n[[Task]]\ncommand = [\"x\"]\n".into(),
            "calc/.app.toml: Task[0].name: missing or empty",
        ),
        (
            "name = \"calc\"\n[[Task]]\nname = \"b\"\n".into(),
            "calc/.app.toml: Task \"b\".command: must not be empty",
        ),
        (
            "name = \"calc\"\n[[Task]]\nname = \"b\"\ncommand = [\"\", \"a\"]\n".into(),
            "calc/.app.toml: Task \"b\".command[0]: must not be empty",
        ),
        (
            task("[[Task]]\nname = \"build\"\ncommand = [\"y\"]\n"),
            "calc/.app.toml: Task[1].name: duplicate task name \"build\" (also Task[0].name)",
        ),
        (
            task("[Task.Input]\n[[Task.Input.Files]]\npaths = []\n"),
            "calc/.app.toml: Task \"build\".Input.Files[0].paths: must not be empty",
        ),
        (
            task("[Task.Input]\n[[Task.Input.Files]]\npaths = [\"a\", \"/etc/passwd\"]\n"),
            "calc/.app.toml: Task \"build\".Input.Files[0].paths[1]: \"/etc/passwd\" is outside the repository",
        ),
        (
            task("[Task.Input]\n[[Task.Input.Files]]\npaths = [\"../../x\"]\n"),
            "calc/.app.toml: Task \"build\".Input.Files[0].paths[0]: \"../../x\" leaves the repository",
        ),
        (
            task("[Task.Input]\n[Task.Input.ExcludedFiles]\npaths = [\"../../x\"]\n"),
            "calc/.app.toml: Task \"build\".Input.ExcludedFiles.paths[0]: \"../../x\" leaves the repository",
        ),
        (
            task("[Task.Input]\n[[Task.Input.EnvironmentVariables]]\nnames = []\n"),
            "calc/.app.toml: Task \"build\".Input.EnvironmentVariables[0].names: must not be empty",
        ),
        (
            task("[Task.Input]\n[[Task.Input.GolangSources]]\nqueries = []\nenvironment = []\n"),
            "calc/.app.toml: Task \"build\".Input.GolangSources[0].queries: must not be empty",
        ),
        (
            task("[Task.Input]\n[[Task.Input.GolangSources]]\nqueries = [\".\"]\nenvironment = [\"GOFLAGS\"]\n"),
            "calc/.app.toml: Task \"build\".Input.GolangSources[0].environment[0]: \"GOFLAGS\" is not of the form NAME=VALUE",
        ),
        (
            task("[Task.Input]\n[[Task.Input.TaskInfos]]\ntask_name = \"nope\"\nenv_var = \"X\"\n"),
            "calc/.app.toml: Task \"build\".Input.TaskInfos[0].task_name: no task \"nope\" in this app",
        ),
        (
            task("[Task.Input]\n[[Task.Input.TaskInfos]]\ntask_name = \"check\"\nenv_var = \"X\"\n\
                  [[Task]]\nname = \"check\"\ncommand = [\"y\"]\n[[Task.Input.TaskInfos]]\ntask_name = \"build\"\nenv_var = \"Y\"\n"),
            "calc/.app.toml: Task \"build\".Input.TaskInfos: cycle build -> check -> build",
        ),
        (
            task("[Task.Input]\n[[Task.Input.Files]]\npaths = [\"src/[a.c\"]\n"),
            "calc/.app.toml: Task \"build\".Input.Files[0].paths[0]: invalid glob \"src/[a.c\": unclosed character class; missing ']'",
        ),
        (
            task("[Task.Output]\n[[Task.Output.File]]\n[[Task.Output.File.FileCopy]]\npath = \"/srv\"\n"),
            "calc/.app.toml: Task \"build\".Output.File[0].path: must not be empty",
        ),
        (
            task("[Task.Output]\n[[Task.Output.DockerImage]]\nidfile = \"i\"\n[[Task.Output.DockerImage.RegistryUpload]]\nrepository = \"r\"\n"),
            "calc/.app.toml: Task \"build\".Output.DockerImage[0].RegistryUpload[0].tag: must not be empty",
        ),
        (
            task("[Task.Output]\n[[Task.Output.File]]\npath = \"a\"\n[[Task.Output.File.S3Upload]]\nbucket = \"b\"\n"),
            "calc/.app.toml: Task \"build\".Output.File[0].S3Upload[0].key: must not be empty",
        ),
        (
            task("includes = [\"inc.toml\"]\n"),
            "calc/.app.toml: Task \"build\".includes[0]: \"inc.toml\" is not of the form PATH#ID",
        ),
        (
            task("includes = [\"missing.toml#x\"]\n"),
            "calc/.app.toml: Task \"build\".includes[0]: cannot read calc/missing.toml: No such file or directory (os error 2)",
        ),
        (
            "name = \"calc\"\nincludes = [\"/etc/inc.toml#x\"]\n".into(),
            "calc/.app.toml: includes[0]: include file /etc/inc.toml is outside the repository",
        ),
        (
            "name = \"calc\"\n[[Task]]\ninclude_id = \"x\"\nname = \"b\"\ncommand = [\"x\"]\n".into(),
            "calc/.app.toml: Task[0].include_id: only tasks of include files have an include id",
        ),
        (
            task("").replace("command = [\"x\"]", "command = [\"{{ .Nope }}\"]"),
            "calc/.app.toml: Task \"build\".command[0]: unknown template `{{ .Nope }}` (known: {{ .Root }}, {{ .AppName }}, {{ gitCommit }}, {{ env \"NAME\" }}, {{ uuid }})",
        ),
        (
            task("").replace("command = [\"x\"]", "command = [\"{{ env \\\"CI3_TASKCFG_UNSET\\\" }}\"]"),
            "calc/.app.toml: Task \"build\".command[0]: {{ env \"CI3_TASKCFG_UNSET\" }}: environment variable CI3_TASKCFG_UNSET is not set",
        ),
    ];
    for (text, expected) in cases {
        assert_eq!(&app_error(text), expected, "for:\n{text}");
    }
}

#[test]
fn include_errors() {
    let app = |includes: &str| task(&format!("includes = [{includes}]\n"));
    let run = |inc: &str, includes: &str| {
        let (_d, root) = repo(&[("calc/.app.toml", &app(includes)), ("inc.toml", inc)]);
        format!("{:#}", load(&root, "calc").unwrap_err())
    };
    let good = "[[Input]]\ninclude_id = \"i\"\n[[Input.Files]]\npaths = [\"a\"]\n[[Task]]\ninclude_id = \"t\"\nname = \"t\"\ncommand = [\"x\"]\n";
    assert_eq!(
        run(good, "\"../inc.toml#nope\""),
        "calc/.app.toml: Task \"build\".includes[0]: no [[Input]] or [[Output]] with include_id \"nope\" in inc.toml"
    );
    assert_eq!(
        run(good, "\"../inc.toml#t\""),
        "calc/.app.toml: Task \"build\".includes[0]: no [[Input]] or [[Output]] with include_id \"t\" in inc.toml"
    );
    assert_eq!(
        run(
            "[[Input]]\n[[Input.Files]]\npaths = [\"a\"]\n",
            "\"../inc.toml#i\""
        ),
        "inc.toml: Input[0].include_id: must not be empty"
    );
    assert_eq!(
        run(
            "[[Output]]\ninclude_id = \"o\"\n[[Output]]\ninclude_id = \"o\"\n",
            "\"../inc.toml#o\""
        ),
        "inc.toml: Output[1].include_id: duplicate include id \"o\""
    );
    assert_eq!(
        run(
            "[[Input]]\ninclude_id = \"i\"\n[[Input.Files]]\npaths = [\"/etc/x\"]\n",
            "\"{{ .Root }}/inc.toml#i\""
        ),
        "inc.toml: Input[0].Files[0].paths[0]: \"/etc/x\" is outside the repository"
    );
    assert_eq!(
        run(
            "[[Input]]\ninclude_id = \"i\"\nfiles = 1\n",
            "\"../inc.toml#i\""
        ),
        "inc.toml:3: Input: unknown key `files`, expected one of `include_id`, `Files`, \
         `ExcludedFiles`, `EnvironmentVariables`, `GolangSources`, `TaskInfos`"
    );

    // app-level includes name tasks
    let (_d, root) = repo(&[
        (
            "calc/.app.toml",
            "name = \"calc\"\nincludes = [\"../inc.toml#i\"]\n",
        ),
        ("inc.toml", good),
    ]);
    assert_eq!(
        format!("{:#}", load(&root, "calc").unwrap_err()),
        "calc/.app.toml: includes[0]: no [[Task]] with include_id \"i\" in inc.toml"
    );
    let (_d, root) = repo(&[
        ("calc/.app.toml", "name = \"calc\"\nincludes = [\"../inc.toml#t\"]\n[[Task]]\nname = \"t\"\ncommand = [\"y\"]\n"),
        ("inc.toml", good),
    ]);
    assert_eq!(
        format!("{:#}", load(&root, "calc").unwrap_err()),
        "calc/.app.toml: includes[0]: duplicate task name \"t\" (also Task[0].name)"
    );
}

#[test]
fn find_root_searches_upwards() {
    let (_d, root) = repo(&[(REPO_CONFIG, REPO), ("a/b/c/file", "")]);
    assert_eq!(find_root(&root.join("a/b/c")).unwrap(), root);
    assert_eq!(find_root(&root).unwrap(), root);
    let none = tempfile::tempdir().unwrap();
    let start = fs::canonicalize(none.path()).unwrap();
    assert_eq!(
        format!("{:#}", find_root(&start).unwrap_err()),
        format!(
            "no .baur.toml found in {} or any directory above it",
            start.display()
        )
    );
}

fn app(name: &str) -> String {
    format!("name = \"{name}\"\n[[Task]]\nname = \"build\"\ncommand = [\"make\"]\n")
}

#[test]
fn discovery_honours_search_depth_and_skips_git() {
    let (_d, root) = repo(&[
        (".app.toml", &app("top")),
        ("apps/zeta/.app.toml", &app("zeta")),
        ("apps/group/alpha/.app.toml", &app("alpha")),
        ("apps/group/alpha/nested/deep/.app.toml", &app("deep")),
        (".git/x/.app.toml", &app("hidden")),
        ("other/.app.toml", &app("other")),
    ]);
    let found = |dirs: &[&str], depth: u32| -> Vec<(String, String)> {
        let cfg = RepoConfig {
            application_dirs: dirs.iter().map(|d| d.to_string()).collect(),
            search_depth: depth,
            notices: vec![],
        };
        discover_apps(&root, &cfg)
            .unwrap()
            .into_iter()
            .map(|a| {
                assert_eq!(a.config_file, root.join(&a.dir).join(APP_CONFIG));
                (a.name, a.dir)
            })
            .collect()
    };
    let pairs = |v: &[(&str, &str)]| -> Vec<(String, String)> {
        v.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    };
    assert_eq!(found(&["."], 0), pairs(&[("top", ".")]));
    assert_eq!(found(&["apps"], 1), pairs(&[("zeta", "apps/zeta")]));
    assert_eq!(
        found(&["apps"], 2),
        pairs(&[("alpha", "apps/group/alpha"), ("zeta", "apps/zeta")])
    );
    assert_eq!(
        found(&[".", "apps"], 10),
        pairs(&[
            ("alpha", "apps/group/alpha"),
            ("deep", "apps/group/alpha/nested/deep"),
            ("other", "other"),
            ("top", "."),
            ("zeta", "apps/zeta"),
        ])
    );
    let cfg = RepoConfig {
        application_dirs: vec!["nope".into()],
        search_depth: 1,
        notices: vec![],
    };
    assert_eq!(
        format!("{:#}", discover_apps(&root, &cfg).unwrap_err()),
        ".baur.toml: Discover.application_dirs[0]: \"nope\" is not a directory"
    );
}

#[test]
fn discovery_refuses_duplicate_names_and_broken_apps() {
    let (_d, root) = repo(&[("b/.app.toml", &app("calc")), ("a/.app.toml", &app("calc"))]);
    let cfg = RepoConfig {
        application_dirs: vec![".".into()],
        search_depth: 1,
        notices: vec![],
    };
    assert_eq!(
        format!("{:#}", discover_apps(&root, &cfg).unwrap_err()),
        "app name \"calc\" is used by both a/.app.toml and b/.app.toml"
    );
    let (_d, root) = repo(&[("a/.app.toml", "name = \"a\"\nbogus = 1\n")]);
    assert_eq!(
        format!("{:#}", discover_apps(&root, &cfg).unwrap_err()),
        "a/.app.toml:2: unknown key `bogus`, expected one of `name`, `includes`, `Task`"
    );
}

#[test]
fn end_to_end_from_a_subdirectory() {
    let (_d, root) = repo(&[
        (REPO_CONFIG, REPO),
        ("apps/calc/.app.toml", &app("calc")),
        ("apps/calc/src/main.c", ""),
    ]);
    let found_root = find_root(&root.join("apps/calc/src")).unwrap();
    let cfg = load_repo_config(&found_root).unwrap();
    let dirs = discover_apps(&found_root, &cfg).unwrap();
    let apps = load_apps(&ctx(&found_root), &dirs).unwrap();
    assert_eq!(apps.len(), 1);
    assert_eq!(apps[0].name, "calc");
    assert_eq!(apps[0].tasks[0].config_files, ["apps/calc/.app.toml"]);
}
