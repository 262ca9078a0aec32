//! `semver check|major|minor|patch|prerelease|buildmetadata|sort|test ...`: SemVer 2.0.0 for
//! release scripts (a leading `v` allowed, as release tags carry it).

use ci3::helpers::semver::{self, Part};
use clap::Parser;

/// Checks a SemVer 2.0.0 version (an optional leading v allowed), prints one of its parts, or
/// sorts versions by precedence.
///
///   semver check V          exit 0 when V is valid, 1 when not (silent)
///   semver PART V           print PART: major, minor, patch, prerelease or buildmetadata
///                           (an empty line when V has none); `semver V PART` works too
///   semver sort V...        print the versions in ascending precedence, one per line
///   semver test             run the built-in checks
#[derive(Parser)]
#[command(name = "semver", version, after_help = HELP, verbatim_doc_comment)]
struct Args {
    /// check, a part name, sort or test.
    mode: String,
    /// The version(s).
    #[arg(allow_hyphen_values = true)]
    versions: Vec<String>,
}

const HELP: &str = "\
Environment:
  (none read)

Exit status:
  0  valid (check), the part or the sorted list printed, or every built-in check passed
  1  not a valid version (\"Invalid SemVer: V\" on stderr, except for check), or a built-in
     check failed
  2  usage error";

const USAGE: &str = "Usage: semver check V | semver PART V | semver sort V... | semver test \
                     (PART: major, minor, patch, prerelease, buildmetadata)";

fn main() {
    let args: Args = ci3_tools::parse(2);
    ci3_tools::run("semver", || Ok(run(&args.mode, &args.versions)))
}

fn run(mode: &str, versions: &[String]) -> i32 {
    match (mode, versions) {
        ("test", []) => {
            let (failures, count) = semver::self_test();
            for failure in &failures {
                eprintln!("FAILED: {failure}");
            }
            if failures.is_empty() {
                println!("All {count} semver checks passed.");
                0
            } else {
                eprintln!("{} of {count} semver checks failed.", failures.len());
                1
            }
        }
        ("sort", [_, ..]) => match semver::sort(versions) {
            Ok(sorted) => {
                for text in sorted {
                    println!("{text}");
                }
                0
            }
            Err(bad) => invalid(bad),
        },
        ("check", [version]) => i32::from(semver::parse(version).is_none()),
        (_, [version]) => {
            // The first form of the original took the version first: `semver V PART`.
            let (part, version) = match Part::from_name(mode) {
                Some(part) => (part, version.as_str()),
                None if version == "check" => return run("check", &[mode.to_string()]),
                None => match Part::from_name(version) {
                    Some(part) => (part, mode),
                    None => return usage(),
                },
            };
            match semver::parse(version) {
                Some(v) => {
                    println!("{}", v.part(part));
                    0
                }
                None => invalid(version),
            }
        }
        _ => usage(),
    }
}

fn invalid(text: &str) -> i32 {
    eprintln!("Invalid SemVer: {}", ci3_tools::one_line(text));
    1
}

fn usage() -> i32 {
    eprintln!("{USAGE}");
    2
}
