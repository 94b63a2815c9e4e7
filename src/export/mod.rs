//! CSV exports of every view: the side-by-side diff, the exceptions, the
//! decisions. RFC 4180 quoting, an optional UTF-8 BOM for Excel, and cells
//! that a spreadsheet would run as a formula are neutralised with a leading
//! apostrophe. Exports stream from the cache: memory stays bounded.

use std::borrow::Cow;
use std::io::Write;
use std::path::Path;

use crate::error::{Error, Result};
use crate::reconcile::{FieldStatus, Filter, Kind};
use crate::workspace::Workspace;

/// What to export.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ExportKind {
    /// One row per proposal and field: left, right, baseline, proposed, status.
    Diff,
    /// Conflicts and validation failures with their reasons.
    Exceptions,
    /// Every decision: who, when, verdict, values, hash.
    Decisions,
}

impl std::str::FromStr for ExportKind {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "diff" => Ok(ExportKind::Diff),
            "exceptions" => Ok(ExportKind::Exceptions),
            "decisions" => Ok(ExportKind::Decisions),
            _ => Err(format!(
                "unknown export {s:?}: diff, exceptions or decisions"
            )),
        }
    }
}

/// Neutralises a cell a spreadsheet would evaluate (starting with `=`, `+`,
/// `-`, `@`, tab or carriage return) by prefixing an apostrophe.
pub fn neutralise(cell: &str) -> Cow<'_, str> {
    match cell.as_bytes().first() {
        Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r') => Cow::Owned(format!("'{cell}")),
        _ => Cow::Borrowed(cell),
    }
}

/// A CSV writer that neutralises formulas and optionally starts with a BOM.
pub struct SafeCsv<W: Write> {
    inner: csv::Writer<W>,
}

impl<W: Write> SafeCsv<W> {
    /// Wraps `out`; writes a UTF-8 BOM first when `bom`.
    pub fn new(mut out: W, bom: bool) -> std::io::Result<Self> {
        if bom {
            out.write_all(b"\xEF\xBB\xBF")?;
        }
        Ok(SafeCsv {
            inner: csv::WriterBuilder::new()
                .quote_style(csv::QuoteStyle::Necessary)
                .terminator(csv::Terminator::CRLF)
                .from_writer(out),
        })
    }

    /// Writes one row.
    pub fn row<'a>(&mut self, cells: impl IntoIterator<Item = &'a str>) -> std::io::Result<()> {
        self.inner
            .write_record(cells.into_iter().map(|c| neutralise(c).into_owned()))
            .map_err(std::io::Error::other)
    }

    /// Flushes.
    pub fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

fn v(x: &Option<String>) -> &str {
    x.as_deref().unwrap_or("")
}

fn status(s: FieldStatus) -> &'static str {
    match s {
        FieldStatus::Same => "same",
        FieldStatus::Update => "update",
        FieldStatus::Conflict => "conflict",
        FieldStatus::Kept => "kept",
        FieldStatus::Ignored => "ignored",
    }
}

/// Writes an export of `recon` to `out`; returns the number of data rows.
pub fn export_to<W: Write>(
    ws: &Workspace,
    recon: &str,
    what: ExportKind,
    filter: &Filter,
    bom: bool,
    out: W,
) -> Result<u64> {
    ws.reconciliation(recon)?;
    let io = |e: std::io::Error| Error::io("export", e);
    let mut w = SafeCsv::new(out, bom).map_err(io)?;
    let mut rows = 0u64;
    match what {
        ExportKind::Diff => {
            w.row([
                "key",
                "category",
                "left_ids",
                "right_ids",
                "field",
                "left",
                "right",
                "baseline",
                "proposed",
                "status",
                "note",
            ])
            .map_err(io)?;
            ws.for_each_proposal(recon, filter, |p| {
                let key = if p.proposal.label.is_empty() {
                    crate::records::display_key(&p.proposal.match_key)
                } else {
                    p.proposal.label.clone()
                };
                let l = p.proposal.left_keys.join(" | ");
                let r = p.proposal.right_keys.join(" | ");
                for f in &p.proposal.fields {
                    if p.proposal.kind == Kind::Update && f.status == FieldStatus::Same {
                        continue;
                    }
                    w.row([
                        key.as_str(),
                        p.proposal.kind.as_str(),
                        l.as_str(),
                        r.as_str(),
                        f.field.as_str(),
                        v(&f.left),
                        v(&f.right),
                        v(&f.baseline),
                        v(&f.proposed),
                        status(f.status),
                        f.note.as_deref().unwrap_or(""),
                    ])
                    .map_err(io)?;
                    rows += 1;
                }
                Ok(())
            })?;
        }
        ExportKind::Exceptions => {
            w.row([
                "key",
                "category",
                "left_ids",
                "right_ids",
                "reason",
                "field",
                "message",
            ])
            .map_err(io)?;
            let mut f = filter.clone();
            f.kinds = vec![Kind::Conflict];
            ws.for_each_proposal(recon, &f, |p| {
                let key = if p.proposal.label.is_empty() {
                    crate::records::display_key(&p.proposal.match_key)
                } else {
                    p.proposal.label.clone()
                };
                let l = p.proposal.left_keys.join(" | ");
                let r = p.proposal.right_keys.join(" | ");
                for reason in &p.proposal.reasons {
                    w.row([
                        key.as_str(),
                        p.proposal.kind.as_str(),
                        l.as_str(),
                        r.as_str(),
                        reason.code.as_str(),
                        reason.field.as_deref().unwrap_or(""),
                        reason.message.as_str(),
                    ])
                    .map_err(io)?;
                    rows += 1;
                }
                Ok(())
            })?;
        }
        ExportKind::Decisions => {
            w.row([
                "key",
                "verdict",
                "state",
                "who",
                "at",
                "origin",
                "values",
                "values_sha256",
            ])
            .map_err(io)?;
            // Keys as written in the records (from the proposal), like every other view.
            let mut label_of = ws
                .cache
                .conn
                .prepare("SELECT label FROM proposals WHERE recon = ?1 AND match_key = ?2")
                .map_err(|e| ws.cache.err(e))?;
            for d in ws.decisions(recon, None)? {
                let label: Option<String> = label_of
                    .query_row((recon, &d.match_key), |r| r.get(0))
                    .ok()
                    .filter(|l: &String| !l.is_empty());
                let key = label.unwrap_or_else(|| crate::records::display_key(&d.match_key));
                let values = d
                    .values
                    .iter()
                    .map(|(f, x)| format!("{f}={}", v(x)))
                    .collect::<Vec<_>>()
                    .join("; ");
                w.row([
                    key.as_str(),
                    d.verdict.as_str(),
                    d.state.as_str(),
                    d.who.as_str(),
                    d.at.as_str(),
                    d.origin.as_str(),
                    values.as_str(),
                    d.values_hash.as_str(),
                ])
                .map_err(io)?;
                rows += 1;
            }
        }
    }
    w.flush().map_err(io)?;
    Ok(rows)
}

/// Writes an export to a file (via a temporary file, renamed when complete).
pub fn export_file(
    ws: &Workspace,
    recon: &str,
    what: ExportKind,
    filter: &Filter,
    bom: bool,
    path: &Path,
) -> Result<u64> {
    let tmp = path.with_extension("csv.partial");
    let file = std::fs::File::create(&tmp).map_err(|e| Error::io(&tmp, e))?;
    let n = match export_to(ws, recon, what, filter, bom, std::io::BufWriter::new(file)) {
        Ok(n) => n,
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            return Err(e);
        }
    };
    std::fs::rename(&tmp, path).map_err(|e| Error::io(path, e))?;
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_neutralised() {
        for bad in ["=1+1", "+49", "-2", "@SUM(A1)", "\tx", "\rx"] {
            assert!(
                neutralise(bad).starts_with('\''),
                "{bad:?} must be neutralised"
            );
        }
        assert_eq!(neutralise("Acme"), "Acme");
    }
}
