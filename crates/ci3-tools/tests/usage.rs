//! One exit code for a command line that cannot be parsed: 2, as clap exits, in every cache and
//! helper tool; 1 only where the contract keeps the original scripts' 1 (cache_upload,
//! cache_download, cache_content_hash without arguments). The task tools are not surveyed here.

mod common;

use common::exe::exe;
use common::{command, run, toolbox, Output};

/// Each tool that takes a required argument, and its exit code when it is missing.
const MISSING: &[(&str, i32)] = &[
    ("cache_content_hash", 1),
    ("cache_upload", 1),
    ("cache_download", 1),
    ("cache_delete", 2),
    ("cache_download_flag", 2),
    ("cache_exists", 2),
    ("cache_keygen", 2),
    ("cache_log", 2),
    ("cache_ls", 2),
    ("cache_upload_flag", 2),
    ("cache_verify", 2),
    ("content_hash", 2),
    ("rebuild_needed", 2),
    ("semver", 2),
    ("test_should_run", 2),
];

/// Each tool that has options, and its exit code for one it does not have.
const UNKNOWN: &[(&str, i32)] = &[
    ("cache_content_hash", 2),
    ("cache_upload", 1),
    ("cache_download", 1),
    ("cache_delete", 2),
    ("cache_download_flag", 2),
    ("cache_exists", 2),
    ("cache_gc", 2),
    ("cache_keygen", 2),
    ("cache_log", 2),
    ("cache_ls", 2),
    ("cache_stats", 2),
    ("cache_upload_flag", 2),
    ("cache_verify", 2),
    ("content_hash", 2),
    ("filter_test_cmds", 2),
    ("parallelise", 2),
    ("parallelize", 2),
    ("rebuild_needed", 2),
    ("semver", 2),
    ("test_should_run", 2),
];

/// The tools whose arguments are a command: none at all is their one usage error.
const COMMAND_TOOLS: &[&str] = &["denoise", "dump_fail", "retry"];

fn tool(name: &str, args: &[&str]) -> Output {
    let dir = tempfile::tempdir().unwrap();
    run(command(exe(name)).args(args).current_dir(dir.path()))
}

/// Nothing on stdout; clap's error line first, naming what is wrong, then the usage line.
fn assert_clap_usage(name: &str, out: &Output, code: i32, says: &str) {
    assert_eq!(out.code, code, "{name}: {}", out.stderr);
    assert_eq!(out.stdout, "", "{name}");
    let first = out.stderr.lines().next().unwrap_or_default();
    assert!(
        first.starts_with("error: ") && first.contains(says),
        "{name}: {}",
        out.stderr
    );
    assert!(
        out.stderr.contains(&format!("Usage: {name}")),
        "{name}: {}",
        out.stderr
    );
}

#[test]
fn usage_errors_exit_2_except_where_the_original_scripts_exit_1() {
    for &(name, code) in MISSING {
        let out = tool(name, &[]);
        assert_clap_usage(name, &out, code, "required arguments were not provided");
    }
    // cache_upload needs a path as well as a name (the contract's "fewer than two args").
    let out = tool("cache_upload", &["only-a-name.tar.gz"]);
    assert_clap_usage(
        "cache_upload",
        &out,
        1,
        "required arguments were not provided",
    );

    for &(name, code) in UNKNOWN {
        let out = tool(name, &["--no-such-option"]);
        assert_clap_usage(name, &out, code, "unexpected argument '--no-such-option'");
    }

    for name in COMMAND_TOOLS {
        let out = tool(name, &[]);
        assert_eq!(
            (out.code, out.stdout.as_str(), out.stderr.as_str()),
            (2, "", format!("Usage: {name} CMD...\n").as_str()),
            "{name}"
        );
    }
    let script = toolbox().join("do_or_dryrun");
    let out = run(command("bash").arg(script).env_remove("DRY_RUN"));
    assert_eq!(
        (out.code, out.stderr.as_str()),
        (2, "Usage: do_or_dryrun CMD...\n")
    );
}

#[test]
fn a_bad_option_value_is_a_usage_error() {
    let out = tool("cache_stats", &["--since", "yesterday"]);
    assert_eq!((out.code, out.stdout.as_str()), (2, ""), "{}", out.stderr);
    assert!(
        out.stderr.starts_with(
            "error: invalid value 'yesterday' for '--since <DATE>': yesterday: not a date"
        ),
        "{}",
        out.stderr
    );
}
