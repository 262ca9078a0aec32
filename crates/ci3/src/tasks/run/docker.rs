//! The docker CLI, the only way images are tagged, pushed and pulled: no engine API, so any
//! `docker` on `PATH` (or a stand-in for tests) serves, with the caller's environment.

use std::process::{Command, Stdio};

use crate::settings::Settings;
use crate::Result;

/// Runs `docker ARGS`; its stdout, trimmed, on success; its stderr in one line on failure.
pub fn run(settings: &Settings, args: &[&str]) -> Result<String> {
    let out = Command::new("docker")
        .args(args)
        .env_clear()
        .envs(settings.vars())
        .stdin(Stdio::null())
        .output()
        .map_err(|e| crate::err!(Failed, "cannot run docker {}: {e}", args.join(" ")))?;
    if !out.status.success() {
        let why = String::from_utf8_lossy(&out.stderr);
        crate::fail!(
            Failed,
            "docker {} failed ({}): {}",
            args.join(" "),
            out.status,
            why.trim().replace('\n', " ")
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// The id of the image `reference` (a name or an id) in the local engine, `None` when it has no
/// such image.
pub fn image_id(settings: &Settings, reference: &str) -> Option<String> {
    run(
        settings,
        &["image", "inspect", "--format", "{{.Id}}", reference],
    )
    .ok()
    .filter(|id| !id.is_empty())
}

/// The size in bytes the local engine gives the image `id`, as baur records an image output's
/// size; 0 when the engine cannot say (baur's rule too: the size is for listings only).
pub fn image_size(settings: &Settings, id: &str) -> u64 {
    run(settings, &["image", "inspect", "--format", "{{.Size}}", id])
        .ok()
        .and_then(|size| size.parse().ok())
        .unwrap_or(0)
}
