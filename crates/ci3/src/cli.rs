//! What every executable shares: error printing and exit codes.

/// Runs a tool's body; an error is printed as one line `tool: message` on stderr and exits 1.
pub fn run(tool: &str, body: impl FnOnce() -> anyhow::Result<i32>) -> ! {
    let code = match body() {
        Ok(code) => code,
        Err(err) => {
            eprintln!("{tool}: {}", one_line(&err));
            1
        }
    };
    std::process::exit(code)
}

/// The error and its causes on one line.
pub fn one_line(err: &anyhow::Error) -> String {
    let mut s = format!("{err:#}");
    s.retain(|c| c != '\n');
    s
}
