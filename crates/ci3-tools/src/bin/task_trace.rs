//! `task_trace [TARGET...]`: `task_run --trace`, under a name of its own.

use std::os::unix::process::CommandExt;

/// Runs `task_run --trace` with the same arguments: the tasks run and are recorded as
/// task_run does, each command traced, and the findings are printed per task (see
/// `task_run --help`, --trace, --all, --format).
fn main() {
    let exe = std::env::current_exe()
        .ok()
        .and_then(|p| Some(p.parent()?.join("task_run")));
    let Some(exe) = exe.filter(|p| p.is_file()) else {
        eprintln!("task_trace: cannot find task_run beside this executable");
        std::process::exit(2);
    };
    // Its own name for --version; --help says what it is, then task_run's help (its options).
    match std::env::args().nth(1).as_deref() {
        Some("--version" | "-V") => {
            println!("task_trace {}", env!("CARGO_PKG_VERSION"));
            std::process::exit(0)
        }
        Some("--help" | "-h") => {
            println!("task_trace [TARGET...]: task_run --trace; task_run's help follows.\n");
            let _ = std::io::Write::flush(&mut std::io::stdout());
        }
        _ => {}
    }
    let err = std::process::Command::new(exe)
        .arg("--trace")
        .args(std::env::args_os().skip(1))
        .exec();
    eprintln!("task_trace: cannot run task_run: {err}");
    std::process::exit(2)
}
