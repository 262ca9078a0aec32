//! The seccomp-BPF filter that makes only the file system calls stop a traced process.

use std::collections::BTreeMap;

use seccompiler::{
    BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter,
    SeccompRule, TargetArch,
};

use crate::Result;

/// The system calls the tracer decodes (x86_64 numbers): every other call runs without a stop,
/// which is what keeps a traced build close to its untraced speed. The stat family, access and
/// readlink are not among them: no finding uses a probe, and they were nine in ten of the stops
/// of a git-heavy build (git status lstats every tracked file), each a round trip through the
/// tracer. A probe is now an open or exec that failed.
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

/// Calls traced only when a flag argument (index, bit) is clear: a directory opened to be listed
/// (`O_DIRECTORY`: git status, make's wildcards, `rm -rf`) is never an input file, and letting
/// those opens run unstopped saves a stop each.
const UNLESS_FLAG: &[(i64, u8, u64)] = &[
    (libc::SYS_open, 1, libc::O_DIRECTORY as u64),
    (libc::SYS_openat, 2, libc::O_DIRECTORY as u64),
];

/// Compiled before the fork: the child only installs it (no allocation after a fork).
pub(super) fn program() -> Result<BpfProgram> {
    let mut rules: BTreeMap<i64, Vec<SeccompRule>> =
        TRACED.iter().map(|&nr| (nr, Vec::new())).collect();
    for &(nr, arg, flag) in UNLESS_FLAG {
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
