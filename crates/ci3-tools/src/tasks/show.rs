//! What `task_show` prints: a task's configuration (plain or JSON), a run's record, or a run's
//! outputs as a table.

use ci3::clock::rfc3339;
use ci3::tasks::records::Record;
use ci3::tasks::run::seconds;
use ci3::tasks::targets::TaskRef;
use serde_json::json;

use super::table::{self, Column, Format};

pub fn task_json(t: TaskRef<'_>) -> serde_json::Value {
    let i = &t.task.inputs;
    let o = &t.task.outputs;
    json!({
        "TaskID": t.id(),
        "AppName": t.app.name,
        "Directory": t.app.dir,
        "Command": t.task.command,
        "Inputs": {
            "Files": i.files.iter().map(|f| json!({"Paths": f.paths, "Optional": f.optional, "GitTrackedOnly": f.git_tracked_only})).collect::<Vec<_>>(),
            "ExcludedFiles": i.excluded,
            "EnvironmentVariables": i.env_vars.iter().map(|e| json!({"Names": e.names, "Optional": e.optional})).collect::<Vec<_>>(),
            "GolangSources": i.golang.iter().map(|g| json!({"Queries": g.queries, "Environment": g.environment, "BuildFlags": g.build_flags, "Tests": g.tests})).collect::<Vec<_>>(),
            "TaskInfos": i.task_infos.iter().map(|t| json!({"TaskName": t.task_name, "EnvVar": t.env_var})).collect::<Vec<_>>(),
        },
        "Outputs": {
            "Files": o.files.iter().map(|f| json!({
                "Path": f.path,
                "FileCopy": f.file_copy.iter().map(|c| &c.path).collect::<Vec<_>>(),
                "S3Upload": f.s3_upload.iter().map(|s| format!("s3://{}/{}", s.bucket, s.key)).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
            "DockerImages": o.docker_images.iter().map(|d| json!({
                "IDFile": d.idfile,
                "RegistryUpload": d.registry_upload.iter().map(|r| json!({"Registry": r.registry, "Repository": r.repository, "Tag": r.tag})).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
        },
        "ConfigFiles": t.task.config_files,
    })
}

pub fn print_task(t: TaskRef<'_>) {
    let i = &t.task.inputs;
    let o = &t.task.outputs;
    println!("Task ID:    {}", t.id());
    println!("Directory:  {}", t.app.dir);
    println!("Command:    {}", shell_words(&t.task.command));
    println!("Inputs:");
    for f in &i.files {
        let mut flags = Vec::new();
        if f.optional {
            flags.push("optional");
        }
        if f.git_tracked_only {
            flags.push("git tracked only");
        }
        let flags = if flags.is_empty() {
            String::new()
        } else {
            format!(" ({})", flags.join(", "))
        };
        println!("  files:    {}{flags}", f.paths.join(", "));
    }
    if !i.excluded.is_empty() {
        println!("  excluded: {}", i.excluded.join(", "));
    }
    for e in &i.env_vars {
        let opt = if e.optional { " (optional)" } else { "" };
        println!("  env:      {}{opt}", e.names.join(", "));
    }
    for g in &i.golang {
        println!("  go:       {}", g.queries.join(", "));
    }
    for ti in &i.task_infos {
        println!("  task:     {} (${})", ti.task_name, ti.env_var);
    }
    println!("  config:   {}", t.task.config_files.join(", "));
    println!("Outputs:");
    for f in &o.files {
        println!("  file:     {}", f.path);
        for c in &f.file_copy {
            println!("    copy to {}", c.path);
        }
        for s in &f.s3_upload {
            println!("    upload to s3://{}/{}", s.bucket, s.key);
        }
    }
    for d in &o.docker_images {
        println!("  docker:   {}", d.idfile);
        for r in &d.registry_upload {
            println!("    push to {}/{}:{}", r.registry, r.repository, r.tag);
        }
    }
}

fn shell_words(argv: &[String]) -> String {
    argv.iter()
        .map(|w| {
            if !w.is_empty()
                && w.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_./=:,+@%".contains(&b))
            {
                w.clone()
            } else {
                format!("'{}'", w.replace('\'', "'\\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

pub fn print_run(r: &Record) {
    println!("Run ID:       {}", r.id);
    println!("Task ID:      {}.{}", r.app, r.task);
    println!("Directory:    {}", r.app_dir);
    println!("Result:       {}", r.result.word());
    if let Some(e) = &r.error {
        println!("Error:        {e}");
    }
    println!("Start Time:   {}", rfc3339(r.start_us));
    println!(
        "Duration:     {}",
        seconds(r.stop_us.saturating_sub(r.start_us))
    );
    let dirty = if r.git_dirty { " (dirty)" } else { "" };
    println!(
        "Git Commit:   {}{dirty}",
        r.git_commit.as_deref().unwrap_or("-")
    );
    println!("Host:         {}", r.host.as_deref().unwrap_or("-"));
    println!("Input Digest: {}", r.total_digest.prefixed());
    println!("Inputs:");
    for i in &r.inputs {
        println!("  {}  {}", i.digest.prefixed(), i.shown());
    }
    println!("Outputs:");
    for o in &r.outputs {
        println!("  {}  {}  ({} B)", o.digest, o.name, o.size);
        for u in &o.uploads {
            println!("    {}  ({})", u.uri, seconds(u.duration_us));
        }
    }
}

const OUTPUT_COLUMNS: &[Column] = &[
    Column::new("uri", "URI", "URI"),
    Column::new("digest", "Digest", "Digest"),
    Column::new("size", "Size (MiB)", "SizeMiB"),
    Column::new("upload-duration", "Upload Duration (s)", "UploadDuration"),
    Column::new("type", "Output Type", "Type"),
    Column::new("method", "Method", "Method"),
];

pub fn print_outputs(r: &Record, format: Format, quiet: bool) {
    let mut rows = Vec::new();
    for o in &r.outputs {
        let kind = o.name.kind();
        for u in &o.uploads {
            let method = match u.uri.split_once(':').map_or("", |(s, _)| s) {
                "ci3-store" => "ci3-store",
                "file" => "filecopy",
                "s3" => "s3",
                "docker" => "docker",
                other => other,
            };
            rows.push(vec![
                u.uri.clone(),
                o.digest.to_string(),
                format!("{:.3}", o.size as f64 / (1024.0 * 1024.0)),
                format!("{:.3}", u.duration_us as f64 / 1e6),
                kind.to_string(),
                method.to_string(),
            ]);
        }
    }
    if quiet {
        for row in rows {
            println!("{}", row[0]);
        }
        return;
    }
    print!("{}", table::render(format, OUTPUT_COLUMNS, &rows, true));
}
