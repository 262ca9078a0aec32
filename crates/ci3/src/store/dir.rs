//! The directory store: one file per object, the embedded default.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};

use super::Store;

pub struct DirStore {
    root: PathBuf,
}

impl DirStore {
    pub fn new(root: PathBuf) -> Self {
        DirStore { root }
    }

    fn path(&self, name: &str) -> Result<PathBuf> {
        if name.is_empty()
            || name
                .split('/')
                .any(|c| c.is_empty() || c == "." || c == "..")
        {
            bail!("invalid artifact name '{name}'");
        }
        Ok(self.root.join(name))
    }
}

impl Store for DirStore {
    fn describe(&self) -> String {
        format!("directory {}", self.root.display())
    }

    fn exists(&self, name: &str) -> Result<bool> {
        let path = self.path(name)?;
        match std::fs::metadata(&path) {
            Ok(md) => Ok(md.is_file()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e).with_context(|| format!("cannot read store entry {}", path.display())),
        }
    }
}
