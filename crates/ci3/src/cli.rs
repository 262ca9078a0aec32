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

/// The positional arguments, or a usage line on stderr and exit 1 when there are too few.
pub fn args_or_usage(tool: &str, min: usize, synopsis: &str) -> Vec<String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < min || args.first().is_some_and(|a| a == "--help" || a == "-h") {
        eprintln!("Usage: {tool} {synopsis}");
        std::process::exit(1);
    }
    args
}
