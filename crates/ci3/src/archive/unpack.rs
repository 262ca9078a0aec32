//! Extraction: into a private staging directory inside OUT_DIR, then, only once the whole
//! stream was read and its trailer (if any) matched, moved into place entry by entry.
//!
//! Staging inside OUT_DIR keeps it on OUT_DIR's filesystem, so the final moves are renames.
//! Within staging, symlinks are created last, after every other entry: nothing is ever written
//! through a link, whatever order the archive lists them in.

use std::collections::{HashMap, HashSet};
use std::ffi::OsStr;
use std::fs::{self, DirBuilder, File, FileTimes, Permissions};
use std::io::{self, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use tar::EntryType;

use super::place::plan_moves;
use super::read::{header_field, scan, Decoded};
use super::{
    corrupt, safety, stream_error, unsafe_entry, Checked, Compression, Corruption, Unpacked,
};
use crate::error::{IoAt, Result};

/// Extracts the archive read from `reader` into `out_dir` (created if missing), atomically
/// per entry and all-or-nothing per archive for every failure of the archive itself.
///
/// Existing files are replaced, existing directories merged into (one its owner may not write
/// to, e.g. read-only from an earlier extraction, is opened for the moves, then gets the
/// archive's mode or its own back). Refused (nothing is moved
/// into `out_dir`, the staging directory is removed): corrupt, truncated or digest-mismatched
/// streams, unsafe entries (see the module docs of `archive`), a directory entry where
/// `out_dir` has a symlink (never followed), or a file where it has a directory.
///
/// An I/O failure while moving staged entries into place (e.g. a disk error) can leave the
/// entries moved so far in place. A process killed mid-way leaves its staging directory behind:
/// the next extraction into `out_dir` removes it, first completing the moves its journal records
/// when the kill came during the move (so OUT_DIR ends complete old or complete new).
pub fn unpack<R: Read>(reader: R, compression: Compression, out_dir: &Path) -> Result<Unpacked> {
    unpack_checked(reader, compression, out_dir, &|_| Ok(()))
}

/// [`unpack`], with `accept` asked about the artifact's end (digest, seal) once the whole stream
/// was read and its digest matched, before anything is moved into `out_dir`: its error refuses
/// the archive like a corrupt one, leaving `out_dir` untouched.
pub fn unpack_checked<R: Read>(
    reader: R,
    compression: Compression,
    out_dir: &Path,
    accept: &dyn Fn(&Checked) -> Result<()>,
) -> Result<Unpacked> {
    let existed = out_dir.exists();
    fs::create_dir_all(out_dir).at("cannot create the output directory", out_dir)?;
    let result = unpack_in(reader, compression, out_dir, accept);
    if result.is_err() && !existed {
        // Leave no trace of a failed extraction; fails harmlessly if something else wrote there.
        let _ = fs::remove_dir(out_dir);
    }
    result
}

fn unpack_in<R: Read>(
    reader: R,
    compression: Compression,
    out_dir: &Path,
    accept: &dyn Fn(&Checked) -> Result<()>,
) -> Result<Unpacked> {
    // What killed extractions left here: finished from their journals, then removed.
    crate::scratch::sweep(out_dir, &["staging"], &super::place::replay);
    let staging = crate::scratch::dir_in(out_dir, "staging")
        .at("cannot write into the output directory", out_dir)?;
    // The tree one level down, so that no entry of the archive can meet the journal.
    let tree = staging.path().join("tree");
    fs::create_dir(&tree).at("cannot write into the output directory", out_dir)?;
    let mut stager = Stager::new(&tree);
    let scanned = scan(reader, compression, |entry| stager.extract(entry))?;
    accept(&scanned.checked)?;
    stager.create_symlinks()?;
    let plan = plan_moves(&tree, out_dir)?;
    plan.journal(staging.path())?;
    if let Err(e) = plan.run() {
        let _ = plan.relock(|_| false);
        return Err(e);
    }
    // The archive's directory modes first, while every locked directory is still traversable.
    stager.restore_dirs(out_dir)?;
    let explicit: HashSet<&Path> = stager.dirs.iter().map(|d| d.rel.as_path()).collect();
    plan.relock(|rel| explicit.contains(rel))?;
    staging
        .close()
        .at("cannot remove the staging directory in", out_dir)?;
    Ok(Unpacked {
        digest: scanned.checked.digest,
        seal: scanned.checked.seal,
        entries: stager.extracted,
    })
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Node {
    Dir,
    File,
    Symlink,
}

struct DirMeta {
    rel: PathBuf,
    mode: u32,
    mtime: u64,
}

struct SymlinkMeta {
    target: PathBuf,
    mtime: u64,
}

/// What this archive placed where, relative to the staging root. Only this archive writes in
/// staging, so this map (not the filesystem) is the authority on what each path is.
struct Stager {
    root: PathBuf,
    nodes: HashMap<PathBuf, Node>,
    dirs: Vec<DirMeta>,
    symlinks: Vec<(PathBuf, SymlinkMeta)>,
    symlink_index: HashMap<PathBuf, usize>,
    extracted: u64,
    buf: Vec<u8>,
}

impl Stager {
    fn new(root: &Path) -> Self {
        Stager {
            root: root.to_path_buf(),
            nodes: HashMap::new(),
            dirs: Vec::new(),
            symlinks: Vec::new(),
            symlink_index: HashMap::new(),
            extracted: 0,
            buf: vec![0; 256 * 1024],
        }
    }

    fn extract(&mut self, entry: &mut tar::Entry<'_, Decoded<'_>>) -> Result<()> {
        let name = entry.path_bytes().into_owned();
        let kind = entry.header().entry_type();
        match kind {
            // Metadata for other entries; the tar crate already applied what it understands.
            EntryType::XGlobalHeader
            | EntryType::XHeader
            | EntryType::GNULongName
            | EntryType::GNULongLink => return Ok(()),
            EntryType::Char | EntryType::Block => {
                return Err(unsafe_entry(&name, "device nodes are refused"))
            }
            EntryType::Fifo => return Err(unsafe_entry(&name, "FIFOs are refused")),
            _ => {}
        }
        let rel = match safety::entry_path(&name) {
            Ok(Some(rel)) => rel,
            // The root (`./`): OUT_DIR's own mode and mtime are left alone.
            Ok(None) if kind == EntryType::Directory => return Ok(()),
            Ok(None) => return Err(unsafe_entry(&name, "a non-directory as the root")),
            Err(reason) => return Err(unsafe_entry(&name, reason)),
        };
        let mode = header_field(entry.header().mode(), &name)? & 0o777;
        let mtime = header_field(entry.header().mtime(), &name)?;
        self.parents(&rel, &name)?;
        match kind {
            EntryType::Directory => self.dir(rel, mode, mtime, &name)?,
            EntryType::Regular | EntryType::Continuous | EntryType::GNUSparse => {
                self.file(entry, &rel, mode, mtime, &name)?
            }
            EntryType::Symlink => {
                let target = entry.link_name_bytes().unwrap_or_default().into_owned();
                safety::check_symlink(&rel, &target).map_err(|r| unsafe_entry(&name, r))?;
                self.symlink(rel, target, mtime, &name)?;
            }
            EntryType::Link => {
                let target = entry.link_name_bytes().unwrap_or_default().into_owned();
                self.hardlink(&rel, &target, &name)?;
            }
            other => {
                return Err(unsafe_entry(
                    &name,
                    format!(
                        "unsupported entry type '{}'",
                        other.as_byte().escape_ascii()
                    ),
                ))
            }
        }
        self.extracted += 1;
        Ok(())
    }

    /// Creates the missing parent directories of `rel`, refusing to pass through anything that
    /// is not a directory of this archive.
    fn parents(&mut self, rel: &Path, name: &[u8]) -> Result<()> {
        let mut prefix = PathBuf::new();
        let mut parts = rel.components().peekable();
        while let Some(part) = parts.next() {
            if parts.peek().is_none() {
                break;
            }
            prefix.push(part);
            match self.nodes.get(&prefix) {
                Some(Node::Dir) => {}
                Some(Node::Symlink) => {
                    return Err(unsafe_entry(
                        name,
                        format!("it goes through the symlink '{}'", prefix.display()),
                    ))
                }
                Some(Node::File) => {
                    return Err(unsafe_entry(
                        name,
                        format!("'{}' is a file in this archive", prefix.display()),
                    ))
                }
                None => {
                    let path = self.root.join(&prefix);
                    // Like GNU tar: implicit directories get the default mode (umask applies).
                    DirBuilder::new()
                        .mode(0o777)
                        .create(&path)
                        .at("cannot create", &path)?;
                    self.nodes.insert(prefix.clone(), Node::Dir);
                }
            }
        }
        Ok(())
    }

    /// Whether `rel` may be (re)written as `node`: a later entry for the same path replaces a
    /// file or symlink, or adds metadata to a directory, as with GNU tar; kinds never change.
    fn claim(&mut self, rel: &Path, node: Node, name: &[u8]) -> Result<Option<Node>> {
        match self.nodes.get(rel).copied() {
            Some(existing) if existing != node => {
                let what = |n| match n {
                    Node::Dir => "a directory",
                    Node::File => "a file",
                    Node::Symlink => "a symlink",
                };
                Err(unsafe_entry(
                    name,
                    format!(
                        "it is {} but an earlier entry made it {}",
                        what(node),
                        what(existing)
                    ),
                ))
            }
            previous => {
                self.nodes.insert(rel.to_path_buf(), node);
                Ok(previous)
            }
        }
    }

    fn dir(&mut self, rel: PathBuf, mode: u32, mtime: u64, name: &[u8]) -> Result<()> {
        if self.claim(&rel, Node::Dir, name)?.is_none() {
            // Owner-only until moved into place, where the archive's mode is applied: a
            // read-only directory must still receive its entries and be removable on failure.
            let path = self.root.join(&rel);
            DirBuilder::new()
                .mode(0o700)
                .create(&path)
                .at("cannot create", &path)?;
        }
        self.dirs.push(DirMeta { rel, mode, mtime });
        Ok(())
    }

    fn file(
        &mut self,
        entry: &mut tar::Entry<'_, Decoded<'_>>,
        rel: &Path,
        mode: u32,
        mtime: u64,
        name: &[u8],
    ) -> Result<()> {
        let path = self.root.join(rel);
        if self.claim(rel, Node::File, name)?.is_some() {
            // Unlink rather than truncate: the old file may be hardlinked elsewhere.
            fs::remove_file(&path).at("cannot replace", &path)?;
        }
        let mut file = File::options()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&path)
            .at("cannot create", &path)?;
        let expected = entry.size();
        let mut written = 0u64;
        loop {
            let n = match entry.read(&mut self.buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    return Err(stream_error(e)
                        .context(format!("reading entry '{}'", String::from_utf8_lossy(name))))
                }
            };
            file.write_all(&self.buf[..n]).at("cannot write", &path)?;
            written += n as u64;
        }
        if written != expected {
            return Err(corrupt(Corruption::Truncated));
        }
        // Set explicitly rather than through the create mode, which the umask would narrow.
        file.set_permissions(Permissions::from_mode(mode))
            .and_then(|()| file.set_times(FileTimes::new().set_modified(time(mtime))))
            .at("cannot set the mode and mtime of", &path)
    }

    fn symlink(&mut self, rel: PathBuf, target: Vec<u8>, mtime: u64, name: &[u8]) -> Result<()> {
        let meta = SymlinkMeta {
            target: PathBuf::from(OsStr::from_bytes(&target)),
            mtime,
        };
        if self.claim(&rel, Node::Symlink, name)?.is_some() {
            self.symlinks[self.symlink_index[&rel]].1 = meta;
        } else {
            self.symlink_index.insert(rel.clone(), self.symlinks.len());
            self.symlinks.push((rel, meta));
        }
        Ok(())
    }

    fn hardlink(&mut self, rel: &Path, target: &[u8], name: &[u8]) -> Result<()> {
        let shown = String::from_utf8_lossy(target);
        let target_rel = match safety::entry_path(target) {
            Ok(Some(t)) if self.nodes.get(&t) == Some(&Node::File) => t,
            Err(reason) => {
                return Err(unsafe_entry(
                    name,
                    format!("hardlink target '{shown}': {reason}"),
                ))
            }
            Ok(_) => {
                return Err(unsafe_entry(
                    name,
                    format!("hardlink to '{shown}', which is not a regular file extracted earlier from this archive"),
                ))
            }
        };
        let path = self.root.join(rel);
        if self.claim(rel, Node::File, name)?.is_some() {
            if target_rel == rel {
                return Ok(());
            }
            fs::remove_file(&path).at("cannot replace", &path)?;
        }
        fs::hard_link(self.root.join(&target_rel), &path).at("cannot create the hardlink", &path)
    }

    fn create_symlinks(&self) -> Result<()> {
        for (rel, meta) in &self.symlinks {
            let path = self.root.join(rel);
            std::os::unix::fs::symlink(&meta.target, &path)
                .at("cannot create the symlink", &path)?;
            filetime::set_symlink_file_times(&path, ft(meta.mtime), ft(meta.mtime))
                .at("cannot set the mtime of", &path)?;
        }
        Ok(())
    }

    /// Applies the archive's directory modes and mtimes once everything is in place (moves
    /// into a directory change its mtime), deepest first so parents are set last.
    fn restore_dirs(&mut self, out_dir: &Path) -> Result<()> {
        self.dirs
            .sort_by_key(|d| std::cmp::Reverse(d.rel.components().count()));
        for d in &self.dirs {
            let path = out_dir.join(&d.rel);
            // O_NOFOLLOW: should a symlink have replaced the directory since, leave it alone.
            let dir = File::options()
                .read(true)
                .custom_flags(libc::O_NOFOLLOW | libc::O_DIRECTORY)
                .open(&path)
                .at("cannot open", &path)?;
            dir.set_permissions(Permissions::from_mode(d.mode))
                .and_then(|()| dir.set_times(FileTimes::new().set_modified(time(d.mtime))))
                .at("cannot set the mode and mtime of", &path)?;
        }
        Ok(())
    }
}

fn time(mtime: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(mtime)
}

/// A symlink's times (its access time too: a link has no content read to keep it apart).
fn ft(mtime: u64) -> filetime::FileTime {
    filetime::FileTime::from_unix_time(mtime as i64, 0)
}
