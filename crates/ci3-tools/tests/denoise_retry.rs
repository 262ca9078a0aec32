//! denoise, dump_fail, retry and echo_header: their output in a log and on a terminal, and exit
//! statuses passed through unchanged.

mod common;

use std::fs;
use std::time::{Duration, Instant};

use common::helpers::{lines, on_tty, run, text};

/// The commands whose exit statuses must come back unchanged, with the status expected:
/// a command killed by SIGTERM is 143, never success.
const STATUSES: [(&str, i32); 4] = [
    ("true", 0),
    ("exit 1", 1),
    ("exit 42", 42),
    ("kill -TERM $$", 143),
];

#[test]
fn denoise_without_denoise_just_runs() {
    let out = run("denoise", &["echo out; echo err >&2; exit 42"], &[]);
    assert_eq!(out.status.code(), Some(42));
    assert_eq!(text(&out.stdout), "out\n");
    assert_eq!(text(&out.stderr), "err\n");
}

#[test]
fn denoise_passes_statuses_through() {
    for denoise in ["0", "1"] {
        for (cmd, code) in STATUSES {
            let out = run("denoise", &[cmd], &[("DENOISE", denoise)]);
            assert_eq!(out.status.code(), Some(code), "DENOISE={denoise} {cmd}");
        }
    }
}

#[test]
fn denoise_prints_blocks_of_dots_in_a_log() {
    let cmd = "for i in $(seq 130); do echo line $i; done";
    let out = run("denoise", &[cmd], &[("DENOISE", "1")]);
    assert_eq!(out.status.code(), Some(0));
    let lines = lines(&out.stdout);
    assert_eq!(lines.len(), 5, "{lines:?}");
    assert_eq!(lines[0], format!("Executing: {cmd}"));
    assert_eq!(lines[1], format!("{} 64", ".".repeat(64)));
    assert_eq!(lines[2], format!("{} 128", ".".repeat(64)));
    assert_eq!(lines[3], "..");
    assert!(
        lines[4].starts_with("done (") && lines[4].ends_with("s)"),
        "{}",
        lines[4]
    );
    assert!(
        !text(&out.stdout).contains("line 1\n"),
        "the output is hidden"
    );
    assert_eq!(text(&out.stderr), "");
}

#[test]
fn denoise_counts_a_last_line_without_newline() {
    let out = run("denoise", &["echo a; printf b"], &[("DENOISE", "1")]);
    assert_eq!(lines(&out.stdout)[1], "..");
}

#[test]
fn denoise_shows_the_output_on_failure() {
    let cmd = "echo visible; echo on-stderr >&2; exit 42";
    let out = run("denoise", &[cmd], &[("DENOISE", "1")]);
    assert_eq!(out.status.code(), Some(42));
    let lines = lines(&out.stdout);
    assert_eq!(lines[0], format!("Executing: {cmd}"));
    assert_eq!(lines[1], "..");
    assert!(lines[2].starts_with("failed (") && lines[2].ends_with("s)"));
    assert_eq!(lines[3..], ["visible", "on-stderr"]);
}

#[test]
fn denoise_shows_dots_live_on_a_terminal() {
    let Some(out) = on_tty("denoise", "'seq 3'", &[("DENOISE", "1")]) else {
        return;
    };
    assert!(out.contains("Executing: seq 3"), "{out:?}");
    assert!(out.contains("...\r\n"), "{out:?}");
    assert!(out.contains("\x1b[32mdone ("), "{out:?}");
}

#[test]
fn dump_fail_prints_only_stdout_on_success() {
    let out = run("dump_fail", &["echo out; echo err >&2"], &[]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(text(&out.stdout), "out\n");
    assert_eq!(text(&out.stderr), "");
}

#[test]
fn dump_fail_dumps_both_streams_on_failure() {
    let cmd = "echo out; echo err >&2; exit 42";
    let out = run("dump_fail", &[cmd], &[]);
    assert_eq!(out.status.code(), Some(42));
    assert_eq!(text(&out.stdout), "");
    assert_eq!(
        text(&out.stderr),
        format!("command failed: {cmd} (exit: 42)\nout\nerr\n")
    );
}

#[test]
fn dump_fail_passes_statuses_through() {
    for (cmd, code) in STATUSES {
        let out = run("dump_fail", &[cmd], &[]);
        assert_eq!(out.status.code(), Some(code), "{cmd}");
        if code != 0 {
            assert!(text(&out.stderr).starts_with(&format!("command failed: {cmd} (exit: {code})")));
        }
    }
}

#[test]
fn retry_tries_three_times_with_a_pause() {
    let dir = tempfile::tempdir().unwrap();
    let attempts = dir.path().join("attempts");
    let cmd = format!("echo x >> {}; exit 42", attempts.display());
    let start = Instant::now();
    let out = run("retry", &[&cmd], &[("RETRY_SLEEP", "0.1")]);
    let took = start.elapsed();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(fs::read_to_string(&attempts).unwrap(), "x\nx\nx\n");
    assert_eq!(
        text(&out.stderr),
        format!("Failed after 3 attempts: {cmd}\n")
    );
    assert!(took >= Duration::from_millis(200), "two pauses: {took:?}");
    assert!(
        took < Duration::from_secs(3),
        "no pause after the last: {took:?}"
    );
}

#[test]
fn retry_stops_at_the_first_success() {
    let dir = tempfile::tempdir().unwrap();
    let attempts = dir.path().join("attempts");
    let cmd = format!(
        "echo x >> {0}; [ $(wc -l < {0}) -ge 2 ] && echo ok",
        attempts.display()
    );
    let out = run("retry", &[&cmd], &[("RETRY_SLEEP", "0.1")]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(fs::read_to_string(&attempts).unwrap(), "x\nx\n");
    assert_eq!(text(&out.stdout), "ok\n");
    assert_eq!(text(&out.stderr), "");
}

#[test]
fn retry_counts_a_signal_as_failure() {
    let dir = tempfile::tempdir().unwrap();
    let attempts = dir.path().join("attempts");
    let cmd = format!("echo x >> {}; kill -TERM $$", attempts.display());
    let out = run("retry", &[&cmd], &[("RETRY_SLEEP", "0.1")]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(fs::read_to_string(&attempts).unwrap(), "x\nx\nx\n");
}

/// Ctrl-C reaches the child and retry at once; the child's death may be seen first, so a child
/// killed by SIGINT ends the retries by itself (the flake of `ctrl_c_on_the_terminal_stops_retry`
/// under load: a second attempt started before retry noted its own SIGINT).
#[test]
fn retry_stops_when_its_command_dies_of_sigint() {
    let dir = tempfile::tempdir().unwrap();
    let attempts = dir.path().join("attempts");
    let cmd = format!("echo x >> {}; kill -INT $$", attempts.display());
    let out = run("retry", &[&cmd], &[("RETRY_SLEEP", "0")]);
    assert_eq!(out.status.code(), Some(130), "{}", text(&out.stderr));
    assert_eq!(fs::read_to_string(&attempts).unwrap(), "x\n");
}

#[test]
fn retry_statuses() {
    assert_eq!(run("retry", &["true"], &[]).status.code(), Some(0));
    let out = run("retry", &["exit 1"], &[("RETRY_SLEEP", "0")]);
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn retry_rejects_a_bad_sleep() {
    let out = run("retry", &["true"], &[("RETRY_SLEEP", "soon")]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("RETRY_SLEEP=soon"));
}

#[test]
fn echo_header_is_plain_in_a_log() {
    let out = run("echo_header", &["Building", "the thing"], &[]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(text(&out.stdout), "--- Building the thing ---\n");
}

#[test]
fn echo_header_is_highlighted_on_a_terminal() {
    let Some(out) = on_tty("echo_header", "Building it", &[]) else {
        return;
    };
    assert_eq!(out, "\x1b[1;34m--- Building it ---\x1b[0m\r\n");
}
