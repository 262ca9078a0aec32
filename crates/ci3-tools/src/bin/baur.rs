//! `baur ...`: the original task runner's command line, each command run by the matching tool.

use ci3_tools::tasks::baur::{self, Action};

fn main() {
    match baur::action(std::env::args().skip(1)) {
        Action::Print(text) => {
            println!("{text}");
            std::process::exit(0)
        }
        Action::Exec(tool, command, args) => baur::exec(tool, command, args),
        Action::InitRepo(args) => baur::init_repo(&args),
        Action::InitApp(args, repository) => baur::init_app(&args, repository.as_deref()),
        Action::InitInclude(args, repository) => baur::init_include(&args, repository.as_deref()),
        Action::Note(line) => {
            eprintln!("{line}");
            std::process::exit(0)
        }
        Action::Fail(line) => baur::fail(&line),
        Action::Usage(line) => baur::usage(&line),
    }
}
