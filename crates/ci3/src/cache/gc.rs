//! What `cache_gc` can collect: the directories on this machine under the caps, never a store
//! it cannot list (a ci3 server that speaks only the upstream API).

use std::path::PathBuf;

use crate::error::{Error, Result};
use crate::remote::Mode;
use crate::settings::Settings;
use crate::store::Selected;

/// The directories to collect: the directory store when it is on this machine, then
/// `CACHE_LOCAL_DIR`. A store that is a ci3 server in API mode is a configuration error (exit
/// 2): it has no listing, so saying "nothing to collect" would hide that nothing ever can be.
/// A server that does not answer is no reason to leave the local cache uncollected.
pub fn dirs(settings: &Settings, selected: &Selected) -> Result<Vec<PathBuf>> {
    if let Some(conn) = &selected.server {
        if let Ok(Mode::Api) = conn.mode() {
            return Err(Error::config(format!(
                "{}: cannot collect: listing the cache needs a ci3 server with /objects \
                 (X-CI3-Features: objects); this one speaks only the upstream API",
                selected.store.describe()
            )));
        }
    }
    let mut dirs: Vec<PathBuf> = selected
        .store
        .local_root()
        .map(PathBuf::from)
        .into_iter()
        .collect();
    dirs.extend(settings.local_cache.clone());
    Ok(dirs)
}
