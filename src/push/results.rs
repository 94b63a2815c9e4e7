//! Push results as CSV files, like a data loader's: `success.csv` (with the
//! ids the target wrote back) and `errors.csv` (state, category and the
//! target's own message), for one push or every push of a reconciliation.

use std::path::Path;

use super::journal::{self, Entry, State};
use crate::connectors::Field;
use crate::error::{Error, Result};
use crate::export::SafeCsv;
use crate::workspace::Workspace;

fn fields(f: &[Field]) -> String {
    f.iter()
        .map(|(n, v)| format!("{n}={}", v.as_deref().unwrap_or("")))
        .collect::<Vec<_>>()
        .join("; ")
}

/// How many rows went to each file.
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct ResultCounts {
    /// Rows in `success.csv`.
    pub success: u64,
    /// Rows in `errors.csv`.
    pub errors: u64,
}

/// Writes `success.csv` and `errors.csv` into `dir` for `recon` (only push
/// `push_id` when given). Entries still `pending` or `sending` go to neither.
pub fn write_results(
    ws: &Workspace,
    recon: &str,
    push_id: Option<i64>,
    dir: &Path,
    bom: bool,
) -> Result<ResultCounts> {
    ws.reconciliation(recon)?;
    let entries: Vec<Entry> = match push_id {
        Some(id) => journal::push_entries(&ws.cache, id)?
            .into_iter()
            .filter(|e| e.recon == recon)
            .collect(),
        None => journal::recon_entries(&ws.cache, recon)?,
    };
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let open = |name: &str| -> Result<SafeCsv<std::io::BufWriter<std::fs::File>>> {
        let path = dir.join(name);
        let file = std::fs::File::create(&path).map_err(|e| Error::io(&path, e))?;
        SafeCsv::new(std::io::BufWriter::new(file), bom).map_err(|e| Error::io(&path, e))
    };
    let io = |name: &str, e: std::io::Error| Error::io(dir.join(name), e);
    let mut ok = open("success.csv")?;
    let mut bad = open("errors.csv")?;
    ok.row([
        "push_id",
        "entry",
        "op",
        "key",
        "record",
        "target_id",
        "values",
        "values_sha256",
        "idempotency_key",
        "attempts",
        "message",
        "at",
    ])
    .map_err(|e| io("success.csv", e))?;
    bad.row([
        "push_id",
        "entry",
        "op",
        "key",
        "record",
        "state",
        "category",
        "message",
        "values",
        "before",
        "current",
        "idempotency_key",
        "attempts",
        "at",
    ])
    .map_err(|e| io("errors.csv", e))?;
    let mut counts = ResultCounts::default();
    for e in &entries {
        let push = e.push_id.to_string();
        let id = e.id.to_string();
        let attempts = e.attempts.to_string();
        let key = crate::records::display_key(&e.match_key);
        let op = journal::op_str(e.op);
        match e.state {
            State::Applied => {
                ok.row([
                    push.as_str(),
                    &id,
                    op,
                    &key,
                    &fields(&e.record),
                    &fields(e.target_id.as_deref().unwrap_or_default()),
                    &fields(&e.values),
                    &e.values_hash,
                    &e.idempotency_key,
                    &attempts,
                    e.message.as_deref().unwrap_or(""),
                    &e.updated_at,
                ])
                .map_err(|x| io("success.csv", x))?;
                counts.success += 1;
            }
            s if s.is_failure() => {
                bad.row([
                    push.as_str(),
                    &id,
                    op,
                    &key,
                    &fields(&e.record),
                    s.as_str(),
                    e.category.map(|c| c.as_str()).unwrap_or(""),
                    e.message.as_deref().unwrap_or(""),
                    &fields(&e.values),
                    &fields(&e.before),
                    &fields(e.current.as_deref().unwrap_or_default()),
                    &e.idempotency_key,
                    &attempts,
                    &e.updated_at,
                ])
                .map_err(|x| io("errors.csv", x))?;
                counts.errors += 1;
            }
            _ => {}
        }
    }
    ok.flush().map_err(|e| io("success.csv", e))?;
    bad.flush().map_err(|e| io("errors.csv", e))?;
    Ok(counts)
}
