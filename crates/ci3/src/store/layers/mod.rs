//! What wraps a store without being one: the local tarball cache in front (`layered`), read-only
//! tiers behind (`tiers`, `readonly`), the shared outage breaker (`breaker`), and the size and
//! age caps of the directories kept on this machine (`evict`).

pub mod breaker;
pub mod evict;
pub mod layered;
pub mod local;
pub mod readonly;
pub mod tiers;
