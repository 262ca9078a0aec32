//! Rows as the original prints them: an aligned table, RFC 4180 CSV, or JSON objects with
//! `null` for an empty value; and the columns a `-f` list picks.

use ci3::{Error, Result};

/// `--format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Plain,
    Csv,
    Json,
}

impl std::str::FromStr for Format {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "plain" => Ok(Format::Plain),
            "csv" => Ok(Format::Csv),
            "json" => Ok(Format::Json),
            _ => ci3::fail!(Usage, "unknown format \"{s}\" (plain, csv or json)"),
        }
    }
}

/// A column: its `-f` name, its table header and its JSON key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    pub field: &'static str,
    pub header: &'static str,
    pub key: &'static str,
}

impl Column {
    pub const fn new(field: &'static str, header: &'static str, key: &'static str) -> Column {
        Column { field, header, key }
    }
}

/// The columns of the task listings (`task_ls`, `task_status`), under the original's names.
pub const APP: Column = Column::new("name", "Name", "AppName");
pub const APP_NAME: Column = Column::new("app-name", "Application Name", "AppName");
pub const TASK_ID: Column = Column::new("task-id", "Task ID", "TaskID");
pub const PATH: Column = Column::new("path", "Path", "Path");
pub const RUN_ID: Column = Column::new("run-id", "Run ID", "RunID");
pub const STATUS: Column = Column::new("status", "Status", "Status");
pub const GIT_COMMIT: Column = Column::new("git-commit", "Git Commit", "GitCommit");

/// The columns `fields` (comma separated `-f` names, in any case as in the original) picks from
/// `all`, in the order given.
pub fn pick(all: &[Column], fields: &str) -> Result<Vec<Column>> {
    fields
        .split(',')
        .map(|f| f.trim().to_lowercase())
        .filter(|f| !f.is_empty())
        .map(|f| {
            all.iter().copied().find(|c| c.field == f).ok_or_else(|| {
                // The original's words (cobra's and its own), the fields sorted.
                let mut known: Vec<&str> = all.iter().map(|c| c.field).collect();
                known.sort_unstable();
                ci3::err!(
                    Usage,
                    "invalid argument \"{fields}\" for \"-f, --fields\" flag: FIELD must be one of {}",
                    known.join(", ")
                )
            })
        })
        .collect()
}

/// The rows in `format`; plain and CSV end every row with a newline. `header` is for the plain
/// table only: the original's CSV has none.
pub fn render(format: Format, columns: &[Column], rows: &[Vec<String>], header: bool) -> String {
    match format {
        Format::Plain => {
            let mut all: Vec<Vec<&str>> = Vec::new();
            if header {
                all.push(columns.iter().map(|c| c.header).collect());
            }
            all.extend(rows.iter().map(|r| r.iter().map(String::as_str).collect()));
            let widths: Vec<usize> = (0..columns.len())
                .map(|i| {
                    all.iter()
                        .map(|r| r.get(i).map_or(0, |s| s.chars().count()))
                        .max()
                        .unwrap_or(0)
                })
                .collect();
            let mut out = String::new();
            for r in all {
                let mut line = String::new();
                for (i, cell) in r.iter().enumerate() {
                    line.push_str(cell);
                    if i + 1 < r.len() {
                        let pad = widths[i] - cell.chars().count() + 2;
                        line.extend(std::iter::repeat_n(' ', pad));
                    }
                }
                out.push_str(line.trim_end());
                out.push('\n');
            }
            out
        }
        Format::Csv => {
            let mut out = String::new();
            for r in rows {
                let cells: Vec<String> = r.iter().map(|c| csv_cell(c)).collect();
                out.push_str(&cells.join(","));
                out.push('\n');
            }
            out
        }
        Format::Json => {
            let list: Vec<serde_json::Map<String, serde_json::Value>> = rows
                .iter()
                .map(|r| {
                    columns
                        .iter()
                        .zip(r)
                        .map(|(c, v)| {
                            let v = if v.is_empty() {
                                serde_json::Value::Null
                            } else {
                                serde_json::Value::String(v.clone())
                            };
                            (c.key.to_string(), v)
                        })
                        .collect()
                })
                .collect();
            let mut s = serde_json::to_string_pretty(&list).unwrap_or_default();
            s.push('\n');
            s
        }
    }
}

/// `rendered` (JSON from [`render`]) with the field `key` added to each row, its value from
/// `values` in row order: a field of ours that plain and CSV output leave out.
pub fn json_with(rendered: &str, key: &str, values: Vec<serde_json::Value>) -> String {
    let Ok(serde_json::Value::Array(mut rows)) = serde_json::from_str(rendered) else {
        return rendered.to_string();
    };
    for (row, v) in rows.iter_mut().zip(values) {
        if let serde_json::Value::Object(m) = row {
            m.insert(key.to_string(), v);
        }
    }
    serde_json::to_string_pretty(&rows).unwrap_or_default() + "\n"
}

/// The CSV header row of `columns` (their table headers), for the commands whose newest original
/// prints one.
pub fn csv_header(columns: &[Column]) -> String {
    let cells: Vec<String> = columns.iter().map(|c| csv_cell(c.header)).collect();
    format!("{}\n", cells.join(","))
}

fn csv_cell(c: &str) -> String {
    if c.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", c.replace('"', "\"\""))
    } else {
        c.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: Column = Column::new("a", "Alpha", "A");
    const B: Column = Column::new("b", "B", "Bee");

    #[test]
    fn formats() {
        let rows = vec![
            vec!["x".to_string(), "".to_string()],
            vec!["long,er".to_string(), "y".to_string()],
        ];
        assert_eq!(
            render(Format::Plain, &[A, B], &rows, true),
            "Alpha    B\nx\nlong,er  y\n"
        );
        assert_eq!(
            render(Format::Csv, &[A, B], &rows, true),
            "x,\n\"long,er\",y\n"
        );
        let json = render(Format::Json, &[A, B], &rows[..1], true);
        assert_eq!(
            json,
            "[\n  {\n    \"A\": \"x\",\n    \"Bee\": null\n  }\n]\n"
        );
        assert_eq!(pick(&[A, B], "b,a").unwrap(), [B, A]);
        assert_eq!(
            pick(&[B, A], "a,c").unwrap_err().to_string(),
            "invalid argument \"a,c\" for \"-f, --fields\" flag: FIELD must be one of a, b"
        );
    }
}
