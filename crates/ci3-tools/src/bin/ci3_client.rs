//! `ci3_client CMD ARGS`: upstream's client of the ci3 server (logs, test cache, lists, run
//! records, artifacts), over HTTP or in-process over the configured store.

use std::sync::Arc;

use ci3::ci3_api::client::{self, Outcome, HELP};
use ci3::Kind;
use ci3_tools::Tool;

fn main() {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let Some((cmd, args)) = argv.split_first() else {
        eprint!("{HELP}");
        ci3_tools::exit(2)
    };
    // Extensions upstream answers as unknown commands (exit 2): every tool of ours answers them.
    match cmd.as_str() {
        "--help" | "-h" => {
            print!("{HELP}");
            ci3_tools::exit(0)
        }
        "--version" | "-V" => {
            println!("ci3_client {}", env!("CARGO_PKG_VERSION"));
            ci3_tools::exit(0)
        }
        _ => {}
    }
    if !client::known(cmd) {
        eprint!(
            "ci3_client: unknown command {}\n{HELP}",
            ci3_tools::one_line(cmd)
        );
        ci3_tools::exit(2)
    }
    let tool = Tool::new("ci3_client");
    let done = client::run(
        &tool.settings,
        Arc::clone(&tool.reporter) as _,
        cmd,
        args,
        &mut std::io::stdin().lock(),
        &mut std::io::stdout().lock(),
    );
    let code = match done {
        Ok(Outcome::Done) => 0,
        Ok(Outcome::Failed(line)) => {
            if let Some(line) = line {
                eprintln!("{}", ci3_tools::one_line(&line));
            }
            1
        }
        Err(e) if e.kind() == Kind::Usage && e.message().starts_with("usage: ") => {
            eprintln!("{}", e.message());
            2
        }
        Err(e) if e.kind() == Kind::Usage => {
            eprintln!("ci3_client: {}", ci3_tools::one_line(&e.to_string()));
            2
        }
        Err(e) => {
            eprintln!("ci3_client: {}", ci3_tools::one_line(&e.to_string()));
            1
        }
    };
    ci3_tools::exit(code)
}
