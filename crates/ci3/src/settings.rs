//! Every environment variable the tools read, read once into one value that is passed down.
//!
//! Library code never reads the environment: an executable calls `Settings::from_env()` and
//! hands the value (or the part a layer needs) to the library, and tests build one from a map.

use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::path::PathBuf;
use std::time::Duration;

/// The process environment as the tools see it.
#[derive(Clone, Debug, Default)]
pub struct Settings {
    /// `CI=1`/`true`: uploads and flags allowed.
    pub ci: bool,
    /// `NO_CACHE=1`: downloads, exists and flag reads are misses.
    pub no_cache: bool,
    /// `NO_CACHE_UPLOAD=1`: uploads are no-ops.
    pub no_cache_upload: bool,
    /// `S3_FORCE_UPLOAD` non-empty: upload at `CI=0`, and over an existing object.
    pub force_upload: bool,
    /// `CACHE_LOCAL_DIR`: the local tarball cache in front of the store.
    pub local_cache: Option<PathBuf>,
    /// `$XDG_CACHE_HOME/ci3`, else `~/.cache/ci3`: the machine-local state of the tools; the
    /// paths under it are `state()`'s.
    pub cache_home: PathBuf,
    pub store: StoreVars,
    pub hashing: HashVars,
    pub trust: TrustVars,
    pub server: ServerVars,
    /// `GITHUB_RUN_URL`, recorded in flags and test-cache entries.
    pub run_url: Option<String>,
    /// `HOSTNAME`, when the kernel's hostname cannot be read.
    pub hostname: Option<String>,
    pub helpers: HelperVars,
    pub tests: TestVars,
    /// `CI3_PROGRESS_AFTER`: seconds a transfer runs before a terminal shows its progress bar
    /// (default 1).
    pub progress_after: Duration,
    /// Every variable, for what a user's configuration names (task templates, task inputs).
    vars: BTreeMap<OsString, OsString>,
}

/// The variables that select and reach a store.
#[derive(Clone, Debug, Default)]
pub struct StoreVars {
    /// `CI3_STORE`: `file:///abs/dir` or `s3://BUCKET/PREFIX`.
    pub url: Option<String>,
    /// `CI3_S3_BUCKET`.
    pub bucket: Option<String>,
    /// `CI3_S3_PREFIX` (an empty value is kept: no prefix).
    pub prefix: Option<String>,
    /// `CI3_S3_ENDPOINT`.
    pub endpoint: Option<String>,
    /// `S3_BUILD_CACHE_AWS_PARAMS`: aws-cli words of the original scripts.
    pub aws_params: Option<String>,
    /// `AWS_REGION`, else `AWS_DEFAULT_REGION`.
    pub region: Option<String>,
    /// `CI3_PUBLIC_CACHE_URL`: anonymous HTTP(S) reads.
    pub public_url: Option<String>,
    pub access_key: Option<String>,
    pub secret_key: Option<String>,
    pub session_token: Option<String>,
    /// `AWS_PROFILE`, for the shared credentials file.
    pub profile: Option<String>,
    /// `CI3_S3_TIMEOUT`: seconds a request may go without a byte (default 30).
    pub request_timeout: Duration,
    /// `CI3_S3_TRANSFER_TIMEOUT`: seconds a whole streamed download may take (default 3600).
    pub transfer_timeout: Duration,
    /// `CI3_CACHE_MAX_SIZE`: the cap of the directory store and the local cache, as given.
    pub max_size: Option<String>,
    /// `CI3_CACHE_MAX_AGE`: how long an unused artifact is kept there, as given.
    pub max_age: Option<String>,
    /// `CI3_READ_STORES`: read-only stores behind `CI3_STORE`, space- or comma-separated URLs.
    pub read_stores: Option<String>,
    /// `CI3_OFFLINE=1`: no remote store is asked; each answers at once as unreachable.
    pub offline: bool,
}

/// The variables that name a ci3 server and the credentials it is asked with (`remote`).
#[derive(Clone, Default)]
pub struct ServerVars {
    /// `CI3_SERVER` as set, even empty (empty means "no server" to `ci3_client`).
    pub url: Option<String>,
    /// `CI3_SERVER_TOKEN`: sent as `Authorization: Bearer`.
    pub token: Option<String>,
    /// `CI3_PASSWORD`: HTTP Basic, when there is no token.
    pub password: Option<String>,
    /// `CI3_USER`: the Basic user (default `aztec`).
    pub user: Option<String>,
}

impl std::fmt::Debug for ServerVars {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never a secret in a message or a log.
        f.debug_struct("ServerVars")
            .field("url", &self.url)
            .field("token", &self.token.as_ref().map(|_| "***"))
            .field("password", &self.password.as_ref().map(|_| "***"))
            .field("user", &self.user)
            .finish()
    }
}

/// The variables that sign what is stored and decide what is accepted.
#[derive(Clone, Debug, Default)]
pub struct TrustVars {
    /// `CI3_SIGNING_KEY`: the private key file writers sign with.
    pub signing_key: Option<PathBuf>,
    /// `CI3_TRUSTED_KEYS`: public keys (`ed25519:HEX`) or files of them; only objects signed by
    /// one of them are accepted.
    pub trusted_keys: Option<String>,
}

/// The variables that change what a content hash covers.
#[derive(Clone, Debug, Default)]
pub struct HashVars {
    /// `REPO_PATH`: hash inside another checkout, relative to the cwd.
    pub repo_path: Option<PathBuf>,
    /// `AZTEC_CACHE_COMMIT`: the tree-ish to hash instead of `HEAD`.
    pub commit: Option<String>,
    /// `PLATFORM_TAG`: replaces the platform tag (even when empty, as the original).
    pub platform_tag: Option<String>,
    /// `OSTYPE`, when the shell exported it.
    pub ostype: Option<String>,
}

/// The variables the shell helpers read.
#[derive(Clone, Debug, Default)]
pub struct HelperVars {
    /// `DUP=1`: `cache_log` copies stdin to stdout.
    pub dup: bool,
    /// `DENOISE=1`: `denoise` hides output unless the command fails.
    pub denoise: bool,
    /// `RETRY_SLEEP`: seconds between `retry`'s attempts, as given.
    pub retry_sleep: Option<String>,
    /// `RETRY_DISABLED` non-empty: `retry` runs its command once.
    pub retry_disabled: bool,
    /// `NO_FAIL_FAST=1`: `parallelize` runs everything whatever fails.
    pub no_fail_fast: bool,
    /// `JOBLOG`: where `parallelize` writes its joblog.
    pub joblog: Option<PathBuf>,
}

/// The variables of the test pipeline (`filter_test_cmds`, `run_test_cmd`, `parallelize`).
#[derive(Clone, Debug, Default)]
pub struct TestVars {
    /// `root`: the repo root test commands run from (`ci3/source` exports it).
    pub root: Option<PathBuf>,
    /// `USE_TEST_CACHE=0` turns the test cache off; any other value, or none, leaves it on.
    pub use_cache: bool,
    /// `CI3_TEST_CACHE_TTL`: seconds a passed test stays passed (default 7 days).
    pub cache_ttl: Duration,
    /// `CI3_SLOW_TEST`: seconds past which `parallelize` lists a test as slow (default 300).
    pub slow_after: Duration,
    /// `CPUS`, `MEM`, `TIMEOUT` as the caller exported them: the defaults of a line's knobs.
    pub cpus: Option<String>,
    pub mem: Option<String>,
    pub timeout: Option<String>,
    /// `CPU_LIST`: the cores a test started by `run_test_cmd` is pinned to (`taskset -c` list).
    pub cpu_list: Option<String>,
    /// `CI3_ISOLATE_IMAGE`: the container image of `ISOLATE=1` tests.
    pub isolate_image: Option<String>,
}

impl Settings {
    /// The paths under the machine's state directory.
    pub fn state(&self) -> crate::state::State<'_> {
        crate::state::State::new(&self.cache_home)
    }

    /// Reads the process environment: the one place the tools do.
    pub fn from_env() -> Settings {
        Settings::from_vars(std::env::vars_os())
    }

    /// Settings from the given variables, as if they were the whole environment.
    pub fn from_vars<K, V>(vars: impl IntoIterator<Item = (K, V)>) -> Settings
    where
        K: Into<OsString>,
        V: Into<OsString>,
    {
        let vars: BTreeMap<OsString, OsString> = vars
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect();
        let env = Env(&vars);
        let home = env.path("HOME").unwrap_or_else(|| PathBuf::from("/"));
        let cache_home = crate::state::root(env.path("XDG_CACHE_HOME"), &home);
        let seconds = |name: &str, default: u64| {
            Duration::from_secs(
                env.text(name)
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(default),
            )
        };
        Settings {
            ci: env.flag("CI"),
            no_cache: env.flag("NO_CACHE"),
            no_cache_upload: env.flag("NO_CACHE_UPLOAD"),
            force_upload: env.text("S3_FORCE_UPLOAD").is_some(),
            local_cache: env.path("CACHE_LOCAL_DIR"),
            cache_home,
            store: StoreVars {
                url: env.text("CI3_STORE"),
                bucket: env.text("CI3_S3_BUCKET"),
                prefix: env.raw_text("CI3_S3_PREFIX"),
                endpoint: env.text("CI3_S3_ENDPOINT"),
                aws_params: env.text("S3_BUILD_CACHE_AWS_PARAMS"),
                region: env
                    .text("AWS_REGION")
                    .or_else(|| env.text("AWS_DEFAULT_REGION")),
                public_url: env.text("CI3_PUBLIC_CACHE_URL"),
                access_key: env.text("AWS_ACCESS_KEY_ID"),
                secret_key: env.text("AWS_SECRET_ACCESS_KEY"),
                session_token: env.text("AWS_SESSION_TOKEN"),
                profile: env.text("AWS_PROFILE"),
                request_timeout: seconds("CI3_S3_TIMEOUT", 30),
                transfer_timeout: seconds("CI3_S3_TRANSFER_TIMEOUT", 3600),
                max_size: env.text("CI3_CACHE_MAX_SIZE"),
                max_age: env.text("CI3_CACHE_MAX_AGE"),
                read_stores: env.text("CI3_READ_STORES"),
                offline: env.flag("CI3_OFFLINE"),
            },
            trust: TrustVars {
                signing_key: env.path("CI3_SIGNING_KEY"),
                trusted_keys: env.text("CI3_TRUSTED_KEYS"),
            },
            server: ServerVars {
                url: env.raw_text("CI3_SERVER"),
                token: env.text("CI3_SERVER_TOKEN"),
                password: env.text("CI3_PASSWORD"),
                user: env.text("CI3_USER"),
            },
            hashing: HashVars {
                repo_path: env.path("REPO_PATH"),
                commit: env.text("AZTEC_CACHE_COMMIT"),
                platform_tag: env.raw_text("PLATFORM_TAG"),
                ostype: env.text("OSTYPE"),
            },
            run_url: env.text("GITHUB_RUN_URL"),
            hostname: env.text("HOSTNAME"),
            helpers: HelperVars {
                dup: env.flag("DUP"),
                denoise: env.flag("DENOISE"),
                retry_sleep: env.text("RETRY_SLEEP"),
                retry_disabled: env.text("RETRY_DISABLED").is_some(),
                no_fail_fast: env.flag("NO_FAIL_FAST"),
                joblog: env.path("JOBLOG"),
            },
            tests: TestVars {
                root: env.path("root"),
                use_cache: env.raw_text("USE_TEST_CACHE").as_deref() != Some("0"),
                cache_ttl: seconds("CI3_TEST_CACHE_TTL", 7 * 24 * 3600),
                slow_after: seconds("CI3_SLOW_TEST", 300),
                cpus: env.text("CPUS"),
                mem: env.text("MEM"),
                timeout: env.text("TIMEOUT"),
                cpu_list: env.text("CPU_LIST"),
                isolate_image: env.text("CI3_ISOLATE_IMAGE"),
            },
            progress_after: env
                .text("CI3_PROGRESS_AFTER")
                .and_then(|v| v.parse::<f64>().ok())
                .and_then(|s| Duration::try_from_secs_f64(s).ok())
                .unwrap_or(Duration::from_secs(1)),
            vars,
        }
    }

    /// A variable a user's configuration names, as it is set (`None` when unset).
    pub fn var(&self, name: &str) -> Option<&OsStr> {
        self.vars.get(OsStr::new(name)).map(OsString::as_os_str)
    }

    /// Every variable, for matching the names a user's configuration gives as globs.
    pub fn vars(&self) -> impl Iterator<Item = (&OsStr, &OsStr)> {
        self.vars
            .iter()
            .map(|(k, v)| (k.as_os_str(), v.as_os_str()))
    }
}

struct Env<'a>(&'a BTreeMap<OsString, OsString>);

impl Env<'_> {
    /// Set and valid UTF-8, even if empty.
    fn raw_text(&self, name: &str) -> Option<String> {
        self.0.get(OsStr::new(name))?.to_str().map(String::from)
    }

    /// Set, valid UTF-8 and not empty.
    fn text(&self, name: &str) -> Option<String> {
        self.raw_text(name).filter(|v| !v.is_empty())
    }

    /// Set and not empty; any bytes (a path).
    fn path(&self, name: &str) -> Option<PathBuf> {
        self.0
            .get(OsStr::new(name))
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    }

    /// Set to `1` or `true`.
    fn flag(&self, name: &str) -> bool {
        matches!(self.raw_text(name).as_deref(), Some("1") | Some("true"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_the_tools_need() {
        let s = Settings::from_vars([
            ("CI", "true"),
            ("NO_CACHE", "0"),
            ("S3_FORCE_UPLOAD", "x"),
            ("HOME", "/home/u"),
            ("CI3_S3_PREFIX", ""),
            ("CI3_S3_TIMEOUT", "7"),
            ("AWS_DEFAULT_REGION", "eu-west-1"),
            ("MY_VAR", "v"),
        ]);
        assert!(s.ci && !s.no_cache && s.force_upload);
        assert_eq!(s.cache_home, PathBuf::from("/home/u/.cache/ci3"));
        assert_eq!(s.store.prefix.as_deref(), Some(""));
        assert_eq!(s.store.request_timeout, Duration::from_secs(7));
        assert_eq!(s.store.transfer_timeout, Duration::from_secs(3600));
        assert_eq!(s.store.region.as_deref(), Some("eu-west-1"));
        assert_eq!(s.var("MY_VAR"), Some(OsStr::new("v")));
        assert_eq!(s.var("UNSET"), None);
    }

    #[test]
    fn test_pipeline_defaults() {
        let s = Settings::from_vars([("root", "/r")]);
        assert_eq!(s.tests.root, Some(PathBuf::from("/r")));
        assert!(s.tests.use_cache);
        assert_eq!(s.tests.cache_ttl, Duration::from_secs(604_800));
        let s = Settings::from_vars([("USE_TEST_CACHE", "0"), ("CI3_TEST_CACHE_TTL", "60")]);
        assert!(!s.tests.use_cache);
        assert_eq!(s.tests.cache_ttl, Duration::from_secs(60));
    }

    #[test]
    fn xdg_cache_home_wins_over_home() {
        let s = Settings::from_vars([("HOME", "/h"), ("XDG_CACHE_HOME", "/x")]);
        assert_eq!(s.cache_home, PathBuf::from("/x/ci3"));
    }
}
