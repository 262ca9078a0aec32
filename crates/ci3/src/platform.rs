//! The platform tag appended to content hashes, so artifacts of different machines never mix.

use std::ffi::CStr;

use crate::settings::HashVars;

/// `PLATFORM_TAG` if set, else `<ostype>-<machine>` as bash's `$OSTYPE` and `uname -m` give them.
pub fn tag(vars: &HashVars) -> String {
    if let Some(tag) = &vars.platform_tag {
        return tag.clone();
    }
    let ostype = vars.ostype.clone().unwrap_or_else(ostype);
    format!("{ostype}-{}", uname().machine)
}

/// What bash would put in `$OSTYPE` on this machine (`linux-gnu`, `linux-musl`, `darwin23`...).
fn ostype() -> String {
    if cfg!(target_os = "linux") {
        if cfg!(target_env = "musl") {
            "linux-musl"
        } else {
            "linux-gnu"
        }
        .to_string()
    } else if cfg!(target_os = "macos") {
        let release = uname().release;
        format!("darwin{}", release.split('.').next().unwrap_or_default())
    } else {
        std::env::consts::OS.to_string()
    }
}

struct Uname {
    machine: String,
    release: String,
}

fn uname() -> Uname {
    // SAFETY: utsname is plain old data and uname() fills it with NUL-terminated strings.
    unsafe {
        let mut u: libc::utsname = std::mem::zeroed();
        if libc::uname(&mut u) != 0 {
            return Uname {
                machine: std::env::consts::ARCH.to_string(),
                release: String::new(),
            };
        }
        let s = |f: &[libc::c_char]| CStr::from_ptr(f.as_ptr()).to_string_lossy().into_owned();
        Uname {
            machine: s(&u.machine),
            release: s(&u.release),
        }
    }
}
