//! `ci3_server start|run|stop|status`: the ci3 HTTP API (logs, test cache, lists, run records,
//! artifacts) over a directory or S3 store.

use std::path::PathBuf;

use ci3::server::{Options, Stopped};
use ci3_tools::Tool;
use clap::{Parser, ValueEnum};

/// Serves upstream ci3's server API over our stores; several servers over one S3 bucket serve a
/// team.
#[derive(Parser)]
#[command(name = "ci3_server", version, after_help = help())]
struct Flags {
    /// start: a detached server unless one with this configuration answers, its URL printed;
    /// run: in the foreground until SIGTERM; stop; status: URL and configuration, or exit 1.
    #[arg(value_enum)]
    action: Action,
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    #[arg(long, default_value_t = ci3::server::DEFAULT_PORT)]
    port: u16,
    /// file:///DIR or s3://BUCKET/PREFIX (default: the store CI3_STORE and the rest select).
    #[arg(long, value_name = "URL")]
    store: Option<String>,
    /// HTTP Basic: the password, one line of this file.
    #[arg(long, value_name = "FILE")]
    password_file: Option<PathBuf>,
    /// HTTP Basic: the user.
    #[arg(long, default_value = "aztec")]
    user: String,
    /// Bearer: the token, one line of this file.
    #[arg(long, value_name = "FILE")]
    token_file: Option<PathBuf>,
    /// GET and HEAD without credentials.
    #[arg(long)]
    public_reads: bool,
    /// Listen beyond loopback without credentials.
    #[arg(long)]
    allow_anonymous: bool,
    /// The longest ttl honoured (e.g. 365d, 12h, seconds).
    #[arg(long, default_value = "365d", value_parser = ci3::server::age_arg)]
    max_ttl: u64,
    /// The largest artifact accepted (e.g. 10G, 500M, bytes).
    #[arg(long, default_value = "10G", value_parser = ci3::server::size_arg)]
    max_artifact_size: u64,
    /// GET /artifacts/NAME answers 302 to a 300-second presigned URL of the S3 store, so that
    /// downloads bypass the server.
    #[arg(long)]
    redirect_reads: bool,
    /// Seconds added to the clock ttls are counted by (tests).
    #[arg(long, default_value_t = 0, allow_hyphen_values = true, hide = true)]
    clock_offset: i64,
}

fn help() -> String {
    format!(
        "Environment:\n  {}\n\nPid file and log: $XDG_CACHE_HOME/ci3/server-PORT/\n\nExit status:\n  \
         0  done (start: a server answers; status: one is up)\n  \
         1  start or stop failed, or status found no server\n  \
         2  usage error, or a configuration that cannot be right",
        ci3_tools::STORE_ENV
    )
}

#[derive(Clone, Copy, ValueEnum)]
enum Action {
    Start,
    Run,
    Stop,
    Status,
}

fn main() {
    let flags: Flags = ci3_tools::parse(2);
    let tool = Tool::new("ci3_server");
    let options = Options {
        host: flags.host.clone(),
        port: flags.port,
        store: flags.store.clone(),
        password_file: flags.password_file.clone(),
        user: flags.user.clone(),
        token_file: flags.token_file.clone(),
        public_reads: flags.public_reads,
        allow_anonymous: flags.allow_anonymous,
        max_ttl: flags.max_ttl,
        max_artifact_size: flags.max_artifact_size,
        redirect_reads: flags.redirect_reads,
        clock_offset: flags.clock_offset,
    };
    ci3_tools::run(tool.name, || match flags.action {
        Action::Run => {
            ci3::server::run(&options, &tool.settings, tool.reporter.clone()).map(|()| 0)
        }
        Action::Start => {
            let url = ci3::server::start(&options, &tool.settings, tool.reporter.clone())?;
            println!("{url}");
            Ok(0)
        }
        Action::Stop => {
            match ci3::server::stop(&options, &tool.settings)? {
                Stopped::Stopped(pid) => tool.say(&format!("stopped ci3_server (pid {pid})")),
                Stopped::NotRunning => {
                    tool.say(&format!("no ci3_server running on port {}", options.port))
                }
            }
            Ok(0)
        }
        Action::Status => {
            let (url, identity) = ci3::server::status(&options)?;
            println!("{url}\n{identity}");
            Ok(0)
        }
    })
}
