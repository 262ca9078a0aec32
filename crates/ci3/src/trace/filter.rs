//! The seccomp-BPF filter that makes only the file system calls stop a traced process.

use std::collections::BTreeMap;

use seccompiler::{
    sock_filter, BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition,
    SeccompFilter, SeccompRule, TargetArch,
};

use crate::Result;

/// The system calls the tracer decodes (x86_64 numbers): every other call runs without a stop,
/// which is what keeps a traced build close to its untraced speed. The stat family, access and
/// readlink are not among them unless probes are asked for ([`PROBES`]): they were nine in ten
/// of the stops of a git-heavy build (git status lstats every tracked file), each a round trip
/// through the tracer. By default a probe is an open or exec that failed.
pub(super) const TRACED: &[i64] = &[
    libc::SYS_open,
    libc::SYS_openat,
    libc::SYS_openat2,
    libc::SYS_creat,
    libc::SYS_execve,
    libc::SYS_execveat,
    libc::SYS_rename,
    libc::SYS_renameat,
    libc::SYS_renameat2,
    libc::SYS_unlink,
    libc::SYS_unlinkat,
    libc::SYS_rmdir,
    libc::SYS_mkdir,
    libc::SYS_mkdirat,
    libc::SYS_link,
    libc::SYS_linkat,
    libc::SYS_symlink,
    libc::SYS_symlinkat,
    libc::SYS_truncate,
    libc::SYS_chdir,
    libc::SYS_fchdir,
];

/// The calls that only look at a path, traced with `--probes`: a file a build only tests for
/// (`[ -f config.local ]`) is a dependency on its existence.
const PROBES: &[i64] = &[
    libc::SYS_stat,
    libc::SYS_lstat,
    libc::SYS_newfstatat,
    libc::SYS_statx,
    libc::SYS_access,
    libc::SYS_faccessat,
    libc::SYS_faccessat2,
    libc::SYS_readlink,
    libc::SYS_readlinkat,
];

/// Calls traced only when a flag argument (index, bit) is clear: a directory opened to be listed
/// (`O_DIRECTORY`: git status, make's wildcards, `rm -rf`) is never an input file, and letting
/// those opens run unstopped saves a stop each.
const UNLESS_FLAG: &[(i64, u8, u64)] = &[
    (libc::SYS_open, 1, libc::O_DIRECTORY as u64),
    (libc::SYS_openat, 2, libc::O_DIRECTORY as u64),
];

/// The same for probes: `AT_EMPTY_PATH` is glibc's `fstat` of a descriptor already open (its
/// open was seen), one of the commonest calls of all, and names no path.
const PROBES_UNLESS_FLAG: &[(i64, u8, u64)] = &[
    (libc::SYS_newfstatat, 3, libc::AT_EMPTY_PATH as u64),
    (libc::SYS_statx, 2, libc::AT_EMPTY_PATH as u64),
];

/// Compiled before the fork: the child only installs it (no allocation after a fork).
/// `probes`: stop on [`PROBES`] too.
pub(super) fn program(probes: bool) -> Result<BpfProgram> {
    let probes_traced: &[i64] = if probes { PROBES } else { &[] };
    let probes_unless: &[(i64, u8, u64)] = if probes { PROBES_UNLESS_FLAG } else { &[] };
    let mut rules: BTreeMap<i64, Vec<SeccompRule>> = TRACED
        .iter()
        .chain(probes_traced)
        .map(|&nr| (nr, Vec::new()))
        .collect();
    for &(nr, arg, flag) in UNLESS_FLAG.iter().chain(probes_unless) {
        let clear = SeccompCondition::new(
            arg,
            SeccompCmpArgLen::Dword,
            SeccompCmpOp::MaskedEq(flag),
            0,
        )
        .and_then(|c| SeccompRule::new(vec![c]))
        .map_err(|e| crate::err!(Failed, "cannot build the seccomp filter: {e}"))?;
        rules.insert(nr, vec![clear]);
    }
    let filter = SeccompFilter::new(
        rules,
        SeccompAction::Allow,
        SeccompAction::Trace(0),
        TargetArch::x86_64,
    )
    .map_err(|e| crate::err!(Failed, "cannot build the seccomp filter: {e}"))?;
    filter.try_into().map_err(|e: seccompiler::BackendError| {
        crate::err!(Failed, "cannot compile the seccomp filter: {e}")
    })
}

/// The read-only calls answered through seccomp user notification ([`super::notify`]) instead of
/// a ptrace stop, when the kernel offers it: (call, flag argument, flags that send the call
/// back to the ptrace path). They are nearly all of a C build's stops (the compiler's header
/// search), and a notification is answered on the tracee's own CPU where a ptrace stop wakes
/// two halted ones. Writes, execs and chdirs stay on ptrace: their results or their exec events
/// are needed.
const NOTIFIED: &[(i64, u8, u64)] = &[
    (libc::SYS_open, 1, OPEN_NOT_READ),
    (libc::SYS_openat, 2, OPEN_NOT_READ),
];

/// The same for probes, traced only with `--probes`.
const NOTIFIED_PROBES: &[(i64, u8, u64)] = &[
    (libc::SYS_stat, 0, 0),
    (libc::SYS_lstat, 0, 0),
    (libc::SYS_newfstatat, 3, libc::AT_EMPTY_PATH as u64),
    (libc::SYS_statx, 2, libc::AT_EMPTY_PATH as u64),
    (libc::SYS_access, 0, 0),
    (libc::SYS_faccessat, 0, 0),
    (libc::SYS_faccessat2, 0, 0),
    (libc::SYS_readlink, 0, 0),
    (libc::SYS_readlinkat, 0, 0),
];

/// An open with any of these may write (or lists a directory, which is not traced at all).
const OPEN_NOT_READ: u64 =
    (libc::O_ACCMODE | libc::O_CREAT | libc::O_TRUNC | libc::O_DIRECTORY) as u64;

const LD_ABS_W: u16 = (libc::BPF_LD | libc::BPF_W | libc::BPF_ABS) as u16;
const JEQ_K: u16 = (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16;
const JSET_K: u16 = (libc::BPF_JMP | libc::BPF_JSET | libc::BPF_K) as u16;
const RET_K: u16 = (libc::BPF_RET | libc::BPF_K) as u16;
const AUDIT_ARCH_X86_64: u32 = 0xC000_003E;

fn insn(code: u16, jt: u8, jf: u8, k: u32) -> sock_filter {
    sock_filter { code, jt, jf, k }
}

/// [`program`] preceded by the instructions that send [`NOTIFIED`] calls to the listener
/// (`SECCOMP_RET_USER_NOTIF`); every other call falls through to `program`'s own verdict.
/// Built by hand: seccompiler has no user-notification action.
pub(super) fn notifying(probes: bool) -> Result<BpfProgram> {
    let notified: &[(i64, u8, u64)] = if probes { NOTIFIED_PROBES } else { &[] };
    let calls: Vec<_> = NOTIFIED.iter().chain(notified).copied().collect();
    prefixed(&calls, libc::SECCOMP_RET_USER_NOTIF, probes)
}

/// The calls a tree whose opens fanotify sees (`watch`) makes unstopped: every open (a close
/// says whether it wrote), and the execs (a program run is a file read there; a failed exec is
/// only a probe).
const WATCHED: &[(i64, u8, u64)] = &[
    (libc::SYS_open, 0, 0),
    (libc::SYS_openat, 0, 0),
    (libc::SYS_creat, 0, 0),
    (libc::SYS_execve, 0, 0),
    (libc::SYS_execveat, 0, 0),
];

/// [`program`] letting [`WATCHED`] calls run. Never with probes: fanotify sees no failed open.
pub(super) fn watched() -> Result<BpfProgram> {
    prefixed(WATCHED, libc::SECCOMP_RET_ALLOW, false)
}

/// [`program`] preceded by instructions giving `calls` the verdict `ret`: (call, flag argument,
/// flags that leave the call to `program`, 0 for none).
fn prefixed(calls: &[(i64, u8, u64)], ret: u32, probes: bool) -> Result<BpfProgram> {
    let mut body = Vec::new();
    for &(nr, arg, unless) in calls {
        body.push(insn(LD_ABS_W, 0, 0, 0));
        // seccomp_data: nr (4), arch (4), instruction pointer (8), then the u64 arguments, of
        // which the flags are the low (first, little-endian) half.
        if unless == 0 {
            body.push(insn(JEQ_K, 0, 1, nr as u32));
        } else {
            body.push(insn(JEQ_K, 0, 3, nr as u32));
            body.push(insn(LD_ABS_W, 0, 0, 16 + 8 * u32::from(arg)));
            body.push(insn(JSET_K, 1, 0, unless as u32));
        }
        body.push(insn(RET_K, 0, 0, ret));
    }
    let skip = u8::try_from(body.len())
        .map_err(|_| crate::err!(Failed, "the seccomp filter's prefix is too long"))?;
    let mut out = vec![
        insn(LD_ABS_W, 0, 0, 4),
        insn(JEQ_K, 0, skip, AUDIT_ARCH_X86_64),
    ];
    out.extend(body);
    out.extend(program(probes)?);
    Ok(out)
}
