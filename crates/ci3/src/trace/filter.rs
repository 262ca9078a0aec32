//! The seccomp-BPF filter that makes only the file system calls stop a traced process.

use std::collections::BTreeMap;

use seccompiler::{
    BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter,
    SeccompRule, TargetArch,
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
