//! `ci3_server run`: the listener in the foreground until SIGTERM or SIGINT, a connection task
//! per client (HTTP/1.1 through hyper), the sweeper beside it, and the pid file while the port
//! is held.

use std::sync::Arc;
use std::time::Duration;

use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::signal::unix::{signal, SignalKind};

use super::{lifecycle, limits, routes, sweep, Ctx, Options};
use crate::error::{Error, Kind, Result};
use crate::report::Reporter;
use crate::settings::Settings;

/// A client silent this long (between requests, or in its head) is disconnected.
const IDLE: Duration = Duration::from_secs(300);

/// Serves until told to stop; an error when the server cannot start (a configuration that cannot
/// be right, a port already held). `reporter` is the server's log.
pub fn run(options: &Options, settings: &Settings, reporter: Arc<dyn Reporter>) -> Result<()> {
    few_allocator_arenas();
    let ctx = Arc::new(super::context(options, settings, reporter.clone())?);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .map_err(|e| Error::new(Kind::Failed, format!("cannot start the runtime: {e}")))?;
    let served = runtime.block_on(serve(ctx, options, settings, reporter));
    // Writes still under way fail (their bodies end short) and publish nothing.
    runtime.shutdown_timeout(Duration::from_secs(5));
    served
}

/// Keeps glibc to two malloc arenas. Each thread that allocates otherwise gets its own, and a
/// download's 8 MiB ranges, freed in one arena and wanted next in another, stayed in each: the
/// server's peak grew 85, 120, 160 MiB over three 512 MiB downloads in a row, and held at 80-100
/// with two arenas, at no cost in speed.
fn few_allocator_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets an allocator parameter; called before the server's threads start.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}

async fn serve(
    ctx: Arc<Ctx>,
    options: &Options,
    settings: &Settings,
    reporter: Arc<dyn Reporter>,
) -> Result<()> {
    let host = options.host.trim_start_matches('[').trim_end_matches(']');
    let listener = TcpListener::bind((host, options.port)).await.map_err(|e| {
        Error::new(
            Kind::Failed,
            format!("cannot listen on {}:{}: {e}", options.host, options.port),
        )
    })?;
    // Written only by the process holding the port: `stop` never signals a starter that lost.
    let _pid = lifecycle::PidFile::write(&settings.state().server(options.port))?;
    if let Some(root) = ctx.store.local_root() {
        // Before the first request: a write may not find a dead writer's debris in its way.
        let removed = sweep::scratch(root);
        if removed > 0 {
            reporter.note(&format!(
                "ci3_server: removed {removed} scratch files of writers that died"
            ));
        }
    }
    reporter.note(&format!(
        "ci3_server: listening on http://{}:{} ({})",
        options.host, options.port, ctx.identity
    ));
    let sweeper = ctx.clone();
    std::thread::spawn(move || loop {
        // Parted uploads a gone client or killed server left: never visible, but kept (and
        // billed, on S3) until dropped.
        let before = sweeper.now().saturating_sub(limits::STALE_UPLOAD);
        match sweeper
            .store
            .parted()
            .map_or(Ok(0), |p| p.sweep_uploads(before))
        {
            Ok(0) => {}
            Ok(n) => sweeper
                .reporter
                .note(&format!("ci3_server: dropped {n} abandoned uploads")),
            Err(e) => sweeper.reporter.note(&format!(
                "ci3_server: sweep of abandoned uploads failed: {e}"
            )),
        }
        match sweep::expired(sweeper.store.as_ref(), sweeper.now(), sweeper.max_ttl) {
            Ok(0) => {}
            Ok(n) => sweeper
                .reporter
                .note(&format!("ci3_server: removed {n} expired entries")),
            Err(e) => sweeper
                .reporter
                .note(&format!("ci3_server: sweep of expired entries failed: {e}")),
        }
        std::thread::sleep(sweep::EVERY);
    });
    let signal_error = |e: std::io::Error| Error::new(Kind::Failed, format!("signals: {e}"));
    let mut term = signal(SignalKind::terminate()).map_err(signal_error)?;
    let mut interrupt = signal(SignalKind::interrupt()).map_err(signal_error)?;
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => connection(ctx.clone(), stream),
                Err(e) => {
                    // Out of descriptors, say: the clients already connected go on.
                    reporter.note(&format!("ci3_server: accept failed: {e}"));
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
            _ = term.recv() => break,
            _ = interrupt.recv() => break,
        }
    }
    reporter.note("ci3_server: stopped");
    Ok(())
}

/// Serves one client's requests, one after another, on a task of its own.
fn connection(ctx: Arc<Ctx>, stream: tokio::net::TcpStream) {
    tokio::spawn(async move {
        let service =
            hyper::service::service_fn(move |request| routes::handle(ctx.clone(), request));
        let mut http = hyper::server::conn::http1::Builder::new();
        http.timer(TokioTimer::new())
            .header_read_timeout(IDLE)
            // A client that sent a short body and shut its side still hears the 400.
            .half_close(true)
            // A head beyond this is refused with 431.
            .max_header_size(limits::HEADERS)
            .max_headers(1000);
        let _ = http.serve_connection(TokioIo::new(stream), service).await;
    });
}
