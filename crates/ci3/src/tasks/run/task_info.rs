//! The JSON files a task's TaskInfos inputs name: the other task's total input digest, and the
//! outputs of its latest successful run with that digest.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::Options;
use crate::tasks::config::TaskRef;
use crate::tasks::records;
use crate::{Result, ResultExt};

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct TaskInfoFile {
    task_id: String,
    total_input_digest: String,
    app_dir: String,
    outputs: Vec<TaskInfoOutput>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct TaskInfoOutput {
    name: String,
    digest: String,
    #[serde(rename = "URIs")]
    uris: Vec<String>,
}

/// The JSON file of every TaskInfos input, written into `dir`; returns the variables naming them.
pub(super) fn files(
    t: TaskRef<'_>,
    opts: &Options<'_>,
    dir: &Path,
) -> Result<Vec<(String, PathBuf)>> {
    let mut env = Vec::new();
    for info in &t.task.inputs.task_infos {
        let other_id = format!("{}.{}", t.app.name, info.task_name);
        let digest = match super::sibling(t, &info.task_name) {
            Some(other) => Some(opts.resolver.resolve(other)?.total),
            None => None,
        };
        let mut outputs = Vec::new();
        if let Some(digest) = &digest {
            let lookup = records::find_success(
                opts.store,
                opts.trust,
                &t.app.name,
                &info.task_name,
                digest,
            )?;
            if let Some(found) = lookup.found {
                if let Some(r) = records::load(opts.store, opts.trust, &found.id)? {
                    outputs = r
                        .outputs
                        .into_iter()
                        .map(|o| TaskInfoOutput {
                            name: o.name.to_string(),
                            digest: o.digest.to_string(),
                            uris: o.uploads.into_iter().map(|u| u.uri).collect(),
                        })
                        .collect();
                }
            }
        }
        let file = TaskInfoFile {
            task_id: other_id.clone(),
            total_input_digest: digest.map(|d| d.prefixed()).unwrap_or_default(),
            app_dir: opts.root.join(&t.app.dir).display().to_string(),
            outputs,
        };
        let path = dir.join(format!("{other_id}.json"));
        std::fs::write(&path, serde_json::to_vec_pretty(&file)?)
            .with_context(|| format!("cannot write {}", path.display()))?;
        env.push((info.env_var.clone(), path));
    }
    Ok(env)
}
