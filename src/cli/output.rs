//! Text output for people.

use trueup::cache::Run;
use trueup::mapping::FieldSuggestion;
use trueup::reconcile::ProposalRow;
use trueup::reconcile::{FieldStatus, ProposalPage};
use trueup::records::display_key;

pub fn print_json<T: serde::Serialize>(v: &T) {
    use std::io::Write;
    // Streamed: a push report of 100 000 entries is never held as one string.
    let mut out = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
    let written = serde_json::to_writer_pretty(&mut out, v)
        .map_err(std::io::Error::from)
        .and_then(|()| writeln!(out))
        .and_then(|()| out.flush());
    if let Err(e) = written {
        eprintln!("error: cannot write JSON: {e}");
    }
}

fn val(v: &Option<String>) -> &str {
    v.as_deref().unwrap_or("∅")
}

pub fn print_page(page: &ProposalPage, offset: u64) {
    println!(
        "{} proposals{}",
        page.total,
        if page.total > page.items.len() as u64 {
            format!(
                " (showing {}–{})",
                offset + 1,
                offset + page.items.len() as u64
            )
        } else {
            String::new()
        }
    );
    for row in &page.items {
        let p = &row.proposal;
        let changed: Vec<&str> = p
            .fields
            .iter()
            .filter(|f| matches!(f.status, FieldStatus::Update | FieldStatus::Conflict))
            .map(|f| f.field.as_str())
            .collect();
        let why = p.reasons.first().map(|r| r.code.as_str()).unwrap_or("");
        println!(
            "{:9} {:28} {:14} {}{}",
            p.kind.as_str(),
            if p.label.is_empty() {
                display_key(&p.match_key)
            } else {
                p.label.clone()
            },
            row.decision
                .as_deref()
                .map(|d| match row.decision_state.as_deref() {
                    Some("stale") => format!("{d} (stale)"),
                    _ => d.to_string(),
                })
                .unwrap_or_else(|| "-".into()),
            if matches!(
                p.kind,
                trueup::reconcile::Kind::Create | trueup::reconcile::Kind::Orphan
            ) {
                String::new()
            } else {
                changed.join(", ")
            },
            if why.is_empty() {
                String::new()
            } else {
                format!("  [{why}]")
            }
        );
    }
}

pub fn print_proposal(row: &ProposalRow) {
    let p = &row.proposal;
    println!(
        "{} {}",
        p.kind.as_str(),
        if p.label.is_empty() {
            display_key(&p.match_key)
        } else {
            p.label.clone()
        }
    );
    println!("  left ids:  {}", p.left_keys.join(", "));
    println!("  right ids: {}", p.right_keys.join(", "));
    if let Some(d) = &row.decision {
        println!(
            "  decision:  {d} ({})",
            row.decision_state.as_deref().unwrap_or("")
        );
    }
    println!(
        "  {:16} {:28} {:28} {:28} {:28} status",
        "field", "left", "right", "baseline", "proposed"
    );
    for f in &p.fields {
        println!(
            "  {:16} {:28} {:28} {:28} {:28} {:?}{}",
            f.field,
            val(&f.left),
            val(&f.right),
            val(&f.baseline),
            val(&f.proposed),
            f.status,
            f.note
                .as_deref()
                .map(|n| format!(" — {n}"))
                .unwrap_or_default()
        );
    }
    for r in &p.reasons {
        println!("  why: [{}] {}", r.code, r.message);
    }
}

pub fn print_runs(runs: &[Run]) {
    println!(
        "{:>5} {:10} {:18} {:24} {:>9} {:10} counts",
        "run", "kind", "subject", "started", "seconds", "status"
    );
    for r in runs {
        let secs = match (
            &r.finished_at,
            chrono::DateTime::parse_from_rfc3339(&r.started_at),
        ) {
            (Some(f), Ok(s)) => chrono::DateTime::parse_from_rfc3339(f)
                .map(|f| format!("{:.2}", (f - s).num_milliseconds() as f64 / 1000.0))
                .unwrap_or_default(),
            _ => String::new(),
        };
        println!(
            "{:>5} {:10} {:18} {:24} {:>9} {:10} {}{}",
            r.id,
            r.kind,
            r.subject,
            r.started_at,
            secs,
            r.status,
            r.counts,
            r.message
                .as_deref()
                .map(|m| format!("  {m}"))
                .unwrap_or_default()
        );
    }
}

pub fn print_suggestions(s: &[FieldSuggestion]) {
    println!("Suggested mapping (confirm before adding it to trueup.toml):\n");
    for f in s {
        match &f.source {
            Some(src) => println!(
                "  {:20} ← {:20} score {:.2}  transforms {:?}\n      left e.g. {:?}\n      right e.g. {:?}",
                f.target, src, f.score, f.transforms, f.left_samples, f.right_samples
            ),
            None => println!("  {:20} ← (no match found)", f.target),
        }
    }
    println!("\nAs TOML:\n");
    for f in s.iter().filter(|f| f.source.is_some()) {
        if let Ok(text) = toml::to_string(&f.to_mapping()) {
            println!("[[reconciliations.NAME.fields]]\n{text}");
        }
    }
}
