//! Storing and querying proposals, baselines and links in the cache.

use std::collections::{HashMap, HashSet};

use serde::Serialize;

use super::compare::Baseline;
use super::proposal::{Kind, Proposal};
use crate::error::{Error, Result};
use crate::progress::Actor;
use crate::workspace::Workspace;

pub(crate) fn load_links(ws: &Workspace, recon: &str) -> Result<Vec<(String, String)>> {
    let mut stmt = ws
        .cache
        .conn
        .prepare("SELECT left_key, right_key FROM links WHERE recon = ?1")
        .map_err(|e| ws.cache.err(e))?;
    let rows = stmt
        .query_map([recon], |r| Ok((r.get(0)?, r.get(1)?)))
        .map_err(|e| ws.cache.err(e))?;
    rows.collect::<rusqlite::Result<_>>()
        .map_err(|e| ws.cache.err(e))
}

/// Drops earlier record values no reconciliation can ask for any more: those
/// that ended before every reconciliation using `entity` last ran. Runs in
/// the reconcile's own transaction, after its new state is written.
fn prune_versions(
    tx: &rusqlite::Transaction<'_>,
    config: &crate::config::Config,
    entity: &str,
) -> rusqlite::Result<u64> {
    let mut oldest: Option<i64> = None;
    for (name, r) in &config.reconciliations {
        let column = if r.left == entity {
            "left_seq"
        } else if r.right == entity {
            "right_seq"
        } else {
            continue;
        };
        let seq: Option<i64> = tx
            .query_row(
                &format!("SELECT {column} FROM recon_state WHERE recon = ?1"),
                [name],
                |r| r.get(0),
            )
            .map(Some)
            .or_else(|e| match e {
                rusqlite::Error::QueryReturnedNoRows => Ok(None),
                e => Err(e),
            })?;
        // A reconciliation that never ran may still need every version.
        let seq = seq.unwrap_or(0);
        oldest = Some(oldest.map_or(seq, |o| o.min(seq)));
    }
    let Some(oldest) = oldest else { return Ok(0) };
    tx.execute(
        "DELETE FROM versions WHERE entity = ?1 AND valid_to <= ?2",
        (entity, oldest),
    )
    .map(|n| n as u64)
}

/// Stored baselines of `recon` (only those of `keys` when given).
pub(crate) fn load_baselines(
    ws: &Workspace,
    recon: &str,
    keys: Option<&HashSet<String>>,
) -> Result<HashMap<String, Baseline>> {
    let mut stmt = ws
        .cache
        .conn
        .prepare(if keys.is_some() {
            "SELECT match_key, vals FROM baselines WHERE recon = ?1 AND match_key = ?2"
        } else {
            "SELECT match_key, vals FROM baselines WHERE recon = ?1"
        })
        .map_err(|e| ws.cache.err(e))?;
    let mut out = HashMap::new();
    let mut read = |rows: &mut rusqlite::Rows<'_>| -> Result<()> {
        while let Some(r) = rows.next().map_err(|e| ws.cache.err(e))? {
            let k: String = r.get(0).map_err(|e| ws.cache.err(e))?;
            let v: String = r.get(1).map_err(|e| ws.cache.err(e))?;
            out.insert(k, serde_json::from_str(&v).map_err(|e| ws.cache.err(e))?);
        }
        Ok(())
    };
    match keys {
        None => read(&mut stmt.query([recon]).map_err(|e| ws.cache.err(e))?)?,
        Some(keys) => {
            for k in keys {
                read(&mut stmt.query((recon, k)).map_err(|e| ws.cache.err(e))?)?;
            }
        }
    }
    Ok(out)
}

/// Conflicts by reason code, over all current proposals of `recon`.
pub(crate) fn conflict_reasons(
    ws: &Workspace,
    recon: &str,
) -> Result<std::collections::BTreeMap<String, u64>> {
    let mut stmt = ws
        .cache
        .conn
        .prepare(
            "SELECT json_extract(j.value, '$.code'), count(*) FROM proposals p, json_each(p.reasons) j \
             WHERE p.recon = ?1 AND p.kind = 'conflict' GROUP BY 1",
        )
        .map_err(|e| ws.cache.err(e))?;
    let rows = stmt
        .query_map([recon], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64))
        })
        .map_err(|e| ws.cache.err(e))?;
    rows.collect::<rusqlite::Result<_>>()
        .map_err(|e| ws.cache.err(e))
}

/// The kinds a review lists (in-sync records are not proposals).
const OPEN: [Kind; 4] = [Kind::Create, Kind::Update, Kind::Orphan, Kind::Conflict];

/// The count of each open kind (`of` it), and `all`, their sum.
fn open_counts(of: impl Fn(&str) -> u64) -> std::collections::BTreeMap<String, u64> {
    let mut counts: std::collections::BTreeMap<String, u64> = OPEN
        .iter()
        .map(|k| (k.as_str().to_string(), of(k.as_str())))
        .collect();
    let total = counts.values().sum();
    counts.insert("all".into(), total);
    counts
}

pub(crate) fn load_state(ws: &Workspace, recon: &str) -> Result<Option<super::State>> {
    ws.cache
        .conn
        .query_row(
            "SELECT left_seq, right_seq, config_hash, counts, run_id FROM recon_state WHERE recon = ?1",
            [recon],
            |r| {
                let counts: String = r.get(3)?;
                Ok(super::State {
                    left_seq: r.get(0)?,
                    right_seq: r.get(1)?,
                    config_hash: r.get(2)?,
                    counts: serde_json::from_str(&counts).unwrap_or_default(),
                    run_id: r.get(4)?,
                })
            },
        )
        .map(Some)
        .or_else(|e| match e {
            rusqlite::Error::QueryReturnedNoRows => Ok(None),
            e => Err(e),
        })
        .map_err(|e| ws.cache.err(e))
}

pub(crate) fn proposal_keys(ws: &Workspace, recon: &str) -> Result<HashSet<String>> {
    let mut stmt = ws
        .cache
        .conn
        .prepare("SELECT match_key FROM proposals WHERE recon = ?1")
        .map_err(|e| ws.cache.err(e))?;
    let rows = stmt
        .query_map([recon], |r| r.get(0))
        .map_err(|e| ws.cache.err(e))?;
    rows.collect::<rusqlite::Result<_>>()
        .map_err(|e| ws.cache.err(e))
}

/// Packed values of an entity's records as they were at snapshot `seq`, for
/// the records that changed or went since.
pub(crate) fn versions_at(
    ws: &Workspace,
    entity: &str,
    seq: i64,
) -> Result<HashMap<Box<str>, Box<str>>> {
    let mut stmt = ws
        .cache
        .conn
        .prepare(
            "SELECT key, vals FROM versions WHERE entity = ?1 AND valid_from <= ?2 AND valid_to > ?2",
        )
        .map_err(|e| ws.cache.err(e))?;
    let rows = stmt
        .query_map((entity, seq), |r| {
            let k: String = r.get(0)?;
            let v: String = r.get(1)?;
            Ok((k.into_boxed_str(), v.into_boxed_str()))
        })
        .map_err(|e| ws.cache.err(e))?;
    rows.collect::<rusqlite::Result<_>>()
        .map_err(|e| ws.cache.err(e))
}

/// Replaces the proposals of `recon`, updates baselines, marks stale
/// decisions; one transaction. Returns how many decisions became stale.
pub(crate) struct Outcome<'a> {
    pub proposals: &'a [Proposal],
    /// Replace only the proposals of these keys (all when `None`).
    pub replace: Option<&'a [String]>,
    /// Totals per kind, remembered for the next incremental reconcile.
    pub counts: &'a std::collections::BTreeMap<String, u64>,
    pub baselines: &'a [(String, Baseline)],
    pub dropped_baselines: &'a [String],
    pub state: &'a super::State,
}

pub(crate) fn save(
    ws: &mut Workspace,
    recon: &str,
    run: i64,
    outcome: Outcome<'_>,
    now: &str,
    actor: &Actor,
) -> Result<u64> {
    let Outcome {
        proposals,
        replace,
        counts,
        baselines,
        dropped_baselines,
        state,
    } = outcome;
    let path = ws.cache.path().to_path_buf();
    let e = |x: rusqlite::Error| Error::cache(&path, x);
    let tx = ws
        .cache
        .conn
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .map_err(e)?;
    match replace {
        None => {
            tx.execute("DELETE FROM proposals WHERE recon = ?1", [recon])
                .map_err(e)?;
        }
        Some(keys) => {
            let mut del = tx
                .prepare("DELETE FROM proposals WHERE recon = ?1 AND match_key = ?2")
                .map_err(e)?;
            for k in keys {
                del.execute((recon, k)).map_err(e)?;
            }
        }
    }
    {
        let mut ins = tx
            .prepare(
                "INSERT INTO proposals (recon, run_id, match_key, left_keys, right_keys, kind, reasons, fields, input_hash, search, label) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            )
            .map_err(e)?;
        for p in proposals {
            let mut search = crate::records::display_key(&p.match_key).to_lowercase();
            for f in &p.fields {
                for v in [&f.left, &f.right].into_iter().flatten() {
                    search.push(' ');
                    search.push_str(&v.to_lowercase());
                }
            }
            ins.execute((
                recon,
                run,
                &p.match_key,
                serde_json::to_string(&p.left_keys).unwrap_or_default(),
                serde_json::to_string(&p.right_keys).unwrap_or_default(),
                p.kind.as_str(),
                serde_json::to_string(&p.reasons).unwrap_or_default(),
                serde_json::to_string(&p.fields).unwrap_or_default(),
                &p.input_hash,
                search,
                &p.label,
            ))
            .map_err(e)?;
        }
        let mut up = tx
            .prepare(
                "INSERT INTO baselines (recon, match_key, vals, updated_at, origin) VALUES (?1, ?2, ?3, ?4, ?5) \
                 ON CONFLICT (recon, match_key) DO UPDATE SET vals = excluded.vals, updated_at = excluded.updated_at, origin = excluded.origin",
            )
            .map_err(e)?;
        for (k, v) in baselines {
            up.execute((
                recon,
                k,
                serde_json::to_string(v).unwrap_or_default(),
                now,
                format!("reconcile:{}", actor.origin),
            ))
            .map_err(e)?;
        }
        let mut drop = tx
            .prepare("DELETE FROM baselines WHERE recon = ?1 AND match_key = ?2")
            .map_err(e)?;
        for k in dropped_baselines {
            drop.execute((recon, k)).map_err(e)?;
        }
    }
    tx.execute(
        "INSERT INTO recon_state (recon, run_id, left_seq, right_seq, config_hash, counts) VALUES (?1, ?2, ?3, ?4, ?5, ?6) \
         ON CONFLICT (recon) DO UPDATE SET run_id = excluded.run_id, left_seq = excluded.left_seq, \
         right_seq = excluded.right_seq, config_hash = excluded.config_hash, counts = excluded.counts",
        (
            recon,
            run,
            state.left_seq,
            state.right_seq,
            &state.config_hash,
            serde_json::to_string(counts).unwrap_or_default(),
        ),
    )
    .map_err(e)?;
    if let Some(r) = ws.config.reconciliations.get(recon) {
        prune_versions(&tx, &ws.config, &r.left).map_err(e)?;
        prune_versions(&tx, &ws.config, &r.right).map_err(e)?;
    }
    // A current decision stays valid only while its proposal's inputs are unchanged.
    let stale = tx
        .execute(
            "UPDATE decisions SET state = 'stale' WHERE recon = ?1 AND state = 'current' AND NOT EXISTS \
             (SELECT 1 FROM proposals p WHERE p.recon = decisions.recon AND p.match_key = decisions.match_key \
              AND p.input_hash = decisions.input_hash)",
            [recon],
        )
        .map_err(e)? as u64;
    tx.commit().map_err(e)?;
    Ok(stale)
}

/// Which proposals to list or act on.
#[derive(Debug, Clone, Default, Serialize, serde::Deserialize)]
pub struct Filter {
    /// Only these kinds (empty: all).
    #[serde(default)]
    pub kinds: Vec<Kind>,
    /// Only proposals where this field differs.
    #[serde(default)]
    pub field: Option<String>,
    /// Only proposals whose key or values contain this text (case-insensitive).
    #[serde(default)]
    pub text: Option<String>,
    /// Only proposals with this decision state: `undecided`, `approved`, `rejected`, `stale`.
    #[serde(default)]
    pub decision: Option<String>,
    /// Only conflicts with this reason code.
    #[serde(default)]
    pub reason: Option<String>,
}

/// A page of proposals, with the decision on each.
#[derive(Debug, Clone, Serialize)]
pub struct ProposalPage {
    /// How many match the filter.
    pub total: u64,
    /// The proposals on this page.
    pub items: Vec<ProposalRow>,
}

/// A proposal with its current decision.
#[derive(Debug, Clone, Serialize)]
pub struct ProposalRow {
    /// Row id (stable until the next reconcile).
    pub id: i64,
    /// The proposal.
    #[serde(flatten)]
    pub proposal: Proposal,
    /// The latest decision: approve, reject, correct; or `stale`/none.
    pub decision: Option<String>,
    /// Decision state: current or stale.
    pub decision_state: Option<String>,
}

fn where_clause(filter: &Filter) -> (String, Vec<rusqlite::types::Value>) {
    use rusqlite::types::Value as V;
    let mut sql = String::from("p.recon = ?1");
    let mut params: Vec<V> = vec![];
    if !filter.kinds.is_empty() {
        let list: Vec<String> = filter
            .kinds
            .iter()
            .map(|k| format!("'{}'", k.as_str()))
            .collect();
        sql.push_str(&format!(" AND p.kind IN ({})", list.join(",")));
    }
    if let Some(t) = &filter.text {
        params.push(V::Text(format!("%{}%", t.to_lowercase())));
        sql.push_str(&format!(" AND p.search LIKE ?{}", params.len() + 1));
    }
    if let Some(f) = &filter.field {
        params.push(V::Text(f.clone()));
        sql.push_str(&format!(
            " AND EXISTS (SELECT 1 FROM json_each(p.fields) j WHERE json_extract(j.value, '$.field') = ?{} \
               AND json_extract(j.value, '$.status') IN ('update', 'conflict'))",
            params.len() + 1
        ));
    }
    if let Some(r) = &filter.reason {
        params.push(V::Text(r.clone()));
        sql.push_str(&format!(
            " AND EXISTS (SELECT 1 FROM json_each(p.reasons) j WHERE json_extract(j.value, '$.code') = ?{})",
            params.len() + 1
        ));
    }
    let latest = "(SELECT d.verdict || ':' || d.state FROM decisions d WHERE d.recon = p.recon AND d.match_key = p.match_key AND d.state != 'undone' ORDER BY d.id DESC LIMIT 1)";
    match filter.decision.as_deref() {
        Some("undecided") => sql.push_str(&format!(
            " AND ({latest} IS NULL OR {latest} LIKE '%:stale')"
        )),
        Some("approved") => sql.push_str(&format!(
            " AND {latest} IN ('approve:current', 'correct:current')"
        )),
        Some("rejected") => sql.push_str(&format!(" AND {latest} = 'reject:current'")),
        Some("stale") => sql.push_str(&format!(" AND {latest} LIKE '%:stale'")),
        _ => {}
    }
    (sql, params)
}

fn row_to_proposal(r: &rusqlite::Row) -> rusqlite::Result<ProposalRow> {
    let parse = |i: usize| -> rusqlite::Result<String> { r.get(i) };
    let conv = |e: serde_json::Error| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
    };
    Ok(ProposalRow {
        id: r.get(0)?,
        proposal: Proposal {
            match_key: r.get(1)?,
            left_keys: serde_json::from_str(&parse(2)?).map_err(conv)?,
            right_keys: serde_json::from_str(&parse(3)?).map_err(conv)?,
            kind: Kind::parse(&parse(4)?).unwrap_or(Kind::Conflict),
            reasons: serde_json::from_str(&parse(5)?).map_err(conv)?,
            fields: serde_json::from_str(&parse(6)?).map_err(conv)?,
            input_hash: r.get(7)?,
            label: r.get(10)?,
        },
        decision: r.get(8)?,
        decision_state: r.get(9)?,
    })
}

const SELECT: &str = "SELECT p.id, p.match_key, p.left_keys, p.right_keys, p.kind, p.reasons, p.fields, p.input_hash, \
    (SELECT d.verdict FROM decisions d WHERE d.recon = p.recon AND d.match_key = p.match_key AND d.state != 'undone' ORDER BY d.id DESC LIMIT 1), \
    (SELECT d.state FROM decisions d WHERE d.recon = p.recon AND d.match_key = p.match_key AND d.state != 'undone' ORDER BY d.id DESC LIMIT 1), \
    p.label \
    FROM proposals p";

impl Workspace {
    /// Lists proposals of `recon` matching `filter`, `limit` from `offset` (in key order).
    pub fn proposals(
        &self,
        recon: &str,
        filter: &Filter,
        offset: u64,
        limit: u64,
    ) -> Result<ProposalPage> {
        self.reconciliation(recon)?;
        let (w, params) = where_clause(filter);
        let mut all: Vec<rusqlite::types::Value> = vec![rusqlite::types::Value::Text(recon.into())];
        all.extend(params);
        let kept = self.kept_counts(recon, filter)?.map(|c| {
            if filter.kinds.is_empty() {
                c["all"]
            } else {
                filter
                    .kinds
                    .iter()
                    .map(|k| c.get(k.as_str()).copied().unwrap_or(0))
                    .sum()
            }
        });
        let total = match kept {
            Some(n) => n,
            None => self
                .cache
                .conn
                .query_row(
                    &format!("SELECT count(*) FROM proposals p WHERE {w}"),
                    rusqlite::params_from_iter(all.iter()),
                    |r| r.get::<_, i64>(0),
                )
                .map_err(|e| self.cache.err(e))? as u64,
        };
        let mut stmt = self
            .cache
            .conn
            .prepare(&format!(
                "{SELECT} WHERE {w} ORDER BY p.id LIMIT {limit} OFFSET {offset}"
            ))
            .map_err(|e| self.cache.err(e))?;
        let items = stmt
            .query_map(rusqlite::params_from_iter(all.iter()), row_to_proposal)
            .map_err(|e| self.cache.err(e))?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(|e| self.cache.err(e))?;
        Ok(ProposalPage { total, items })
    }

    /// The next `limit` proposals of `recon` matching `filter` after row id
    /// `after` (from the start when `None`), in id order, without counting
    /// them: keyset pagination, as fast deep in the list as at its start.
    pub fn proposals_after(
        &self,
        recon: &str,
        filter: &Filter,
        after: Option<i64>,
        limit: u64,
    ) -> Result<Vec<ProposalRow>> {
        self.reconciliation(recon)?;
        let (w, params) = where_clause(filter);
        let mut all: Vec<rusqlite::types::Value> = vec![rusqlite::types::Value::Text(recon.into())];
        all.extend(params);
        all.push(rusqlite::types::Value::Integer(after.unwrap_or(i64::MIN)));
        let mut stmt = self
            .cache
            .conn
            .prepare(&format!(
                "{SELECT} WHERE {w} AND p.id > ?{} ORDER BY p.id LIMIT {limit}",
                all.len()
            ))
            .map_err(|e| self.cache.err(e))?;
        stmt.query_map(rusqlite::params_from_iter(all.iter()), row_to_proposal)
            .map_err(|e| self.cache.err(e))?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(|e| self.cache.err(e))
    }

    /// The keys as written in the records (the proposals' labels) for these
    /// match keys of `recon`; keys without a proposal or a label are left out.
    pub fn key_labels<'k>(
        &self,
        recon: &str,
        keys: impl IntoIterator<Item = &'k str>,
    ) -> Result<std::collections::HashMap<String, String>> {
        let keys: Vec<&str> = keys.into_iter().collect();
        let mut out = std::collections::HashMap::new();
        for chunk in keys.chunks(500) {
            let marks = vec!["?"; chunk.len()].join(",");
            let mut stmt = self
                .cache
                .conn
                .prepare(&format!(
                    "SELECT match_key, label FROM proposals WHERE recon = ? AND label != '' AND match_key IN ({marks})"
                ))
                .map_err(|e| self.cache.err(e))?;
            let params = std::iter::once(recon).chain(chunk.iter().copied());
            let rows = stmt
                .query_map(rusqlite::params_from_iter(params), |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
                })
                .map_err(|e| self.cache.err(e))?;
            for row in rows {
                let (k, l) = row.map_err(|e| self.cache.err(e))?;
                out.insert(k, l);
            }
        }
        Ok(out)
    }

    /// The counts per open kind and `all` that the last reconcile kept with
    /// its proposals (full or incremental, in the transaction that wrote
    /// them), when `filter` selects by kind only; `None` when it filters on
    /// anything else, or nothing was kept: then the proposals are scanned.
    fn kept_counts(
        &self,
        recon: &str,
        filter: &Filter,
    ) -> Result<Option<std::collections::BTreeMap<String, u64>>> {
        // Destructured so that a new filter field is decided here.
        let Filter {
            kinds: _,
            field,
            text,
            decision,
            reason,
        } = filter;
        if field.is_some() || text.is_some() || decision.is_some() || reason.is_some() {
            return Ok(None);
        }
        let Some(state) = load_state(self, recon)? else {
            return Ok(None);
        };
        Ok(Some(open_counts(|k| {
            state.counts.get(k).copied().unwrap_or(0)
        })))
    }

    /// How many proposals of each open kind (create, update, orphan,
    /// conflict) match `filter`, its kinds ignored, and `all`, their sum:
    /// the counts a review shows beside its list, in one query.
    pub fn proposal_counts(
        &self,
        recon: &str,
        filter: &Filter,
    ) -> Result<std::collections::BTreeMap<String, u64>> {
        self.reconciliation(recon)?;
        if let Some(counts) = self.kept_counts(recon, filter)? {
            return Ok(counts);
        }
        let filter = Filter {
            kinds: OPEN.to_vec(),
            ..filter.clone()
        };
        let (w, params) = where_clause(&filter);
        let mut all: Vec<rusqlite::types::Value> = vec![rusqlite::types::Value::Text(recon.into())];
        all.extend(params);
        let mut found: std::collections::HashMap<String, u64> = std::collections::HashMap::new();
        let mut stmt = self
            .cache
            .conn
            .prepare(&format!(
                "SELECT p.kind, count(*) FROM proposals p WHERE {w} GROUP BY p.kind"
            ))
            .map_err(|e| self.cache.err(e))?;
        let mut rows = stmt
            .query(rusqlite::params_from_iter(all.iter()))
            .map_err(|e| self.cache.err(e))?;
        while let Some(r) = rows.next().map_err(|e| self.cache.err(e))? {
            let kind: String = r.get(0).map_err(|e| self.cache.err(e))?;
            let n: i64 = r.get(1).map_err(|e| self.cache.err(e))?;
            found.insert(kind, n as u64);
        }
        Ok(open_counts(|k| found.get(k).copied().unwrap_or(0)))
    }

    /// Visits every proposal matching `filter`, streaming from the cache.
    pub fn for_each_proposal(
        &self,
        recon: &str,
        filter: &Filter,
        mut each: impl FnMut(&ProposalRow) -> Result<()>,
    ) -> Result<u64> {
        let (w, params) = where_clause(filter);
        let mut all: Vec<rusqlite::types::Value> = vec![rusqlite::types::Value::Text(recon.into())];
        all.extend(params);
        let mut stmt = self
            .cache
            .conn
            .prepare(&format!("{SELECT} WHERE {w} ORDER BY p.id"))
            .map_err(|e| self.cache.err(e))?;
        let mut rows = stmt
            .query(rusqlite::params_from_iter(all.iter()))
            .map_err(|e| self.cache.err(e))?;
        let mut n = 0;
        while let Some(r) = rows.next().map_err(|e| self.cache.err(e))? {
            let p = row_to_proposal(r).map_err(|e| self.cache.err(e))?;
            each(&p)?;
            n += 1;
        }
        Ok(n)
    }

    /// Visits the proposals of `recon` with these match keys (raw, as
    /// stored), skipping keys with no proposal: work in proportion to the
    /// keys asked for, not to the reconciliation's size.
    pub fn for_each_proposal_by_key<'k>(
        &self,
        recon: &str,
        keys: impl IntoIterator<Item = &'k str>,
        mut each: impl FnMut(ProposalRow) -> Result<()>,
    ) -> Result<u64> {
        let mut stmt = self
            .cache
            .conn
            .prepare(&format!("{SELECT} WHERE p.recon = ?1 AND p.match_key = ?2"))
            .map_err(|e| self.cache.err(e))?;
        let mut n = 0;
        for key in keys {
            let mut rows = stmt.query((recon, key)).map_err(|e| self.cache.err(e))?;
            if let Some(r) = rows.next().map_err(|e| self.cache.err(e))? {
                each(row_to_proposal(r).map_err(|e| self.cache.err(e))?)?;
                n += 1;
            }
        }
        Ok(n)
    }

    /// One proposal by its match key (as shown, parts joined by " / ", or raw).
    pub fn proposal(&self, recon: &str, key: &str) -> Result<ProposalRow> {
        let raw = crate::matching::normalise_part(key).replace(" / ", "\u{1f}");
        let mut stmt = self
            .cache
            .conn
            .prepare(&format!(
                "{SELECT} WHERE p.recon = ?1 AND (p.match_key = ?2 OR p.match_key = ?3)"
            ))
            .map_err(|e| self.cache.err(e))?;
        let mut rows = stmt
            .query_map((recon, key, &raw), row_to_proposal)
            .map_err(|e| self.cache.err(e))?;
        match rows.next() {
            Some(r) => r.map_err(|e| self.cache.err(e)),
            None => Err(Error::NotFound(format!(
                "reconciliation {recon} has no proposal with key {key:?} (it may be in sync; reconcile again after a pull)"
            ))),
        }
    }

    /// Records a confirmed match between a left and a right record.
    pub fn link(
        &self,
        recon: &str,
        left_key: &str,
        right_key: &str,
        now: &str,
        actor: &Actor,
    ) -> Result<()> {
        self.reconciliation(recon)?;
        self.cache
            .conn
            .execute(
                "INSERT INTO links (recon, left_key, right_key, who, at) VALUES (?1, ?2, ?3, ?4, ?5) \
                 ON CONFLICT (recon, left_key) DO UPDATE SET right_key = excluded.right_key, who = excluded.who, at = excluded.at",
                (recon, left_key, right_key, &actor.who, now),
            )
            .map_err(|e| self.cache.err(e))?;
        Ok(())
    }
}

#[cfg(test)]
mod keyset_tests {
    use super::*;
    use crate::progress::{Actor, Silent};

    #[test]
    fn keyset_pages_are_the_offset_pages() {
        let dir = tempfile::tempdir().unwrap();
        let mut ws = Workspace::init_demo(dir.path()).unwrap();
        let (now, actor, silent) = (
            "2026-11-25T10:00:00Z",
            Actor::os_user("test"),
            Silent::default(),
        );
        crate::pull::pull_sides(&mut ws, "customers", now, &actor, &silent).unwrap();
        crate::reconcile::reconcile(&mut ws, "customers", now, &actor, &silent).unwrap();
        for filter in [
            Filter::default(),
            Filter {
                kinds: vec![Kind::Conflict],
                ..Filter::default()
            },
        ] {
            let total = ws.proposals("customers", &filter, 0, 0).unwrap().total;
            assert!(total > 60, "{total}");
            let (mut after, mut offset, mut seen) = (None, 0, 0);
            loop {
                let keyset = ws.proposals_after("customers", &filter, after, 25).unwrap();
                let paged = ws
                    .proposals("customers", &filter, offset, 25)
                    .unwrap()
                    .items;
                let ids = |v: &[ProposalRow]| v.iter().map(|p| p.id).collect::<Vec<_>>();
                assert_eq!(ids(&keyset), ids(&paged), "page at {offset}");
                if keyset.is_empty() {
                    break;
                }
                seen += keyset.len() as u64;
                after = keyset.last().map(|p| p.id);
                offset += 25;
            }
            assert_eq!(seen, total);
        }
        let page = ws
            .proposals("customers", &Filter::default(), 0, 3)
            .unwrap()
            .items;
        let labels = ws
            .key_labels(
                "customers",
                page.iter()
                    .map(|p| p.proposal.match_key.as_str())
                    .chain(["nope"]),
            )
            .unwrap();
        assert_eq!(labels.len(), 3, "{labels:?}");
        for p in &page {
            assert_eq!(labels[&p.proposal.match_key], p.proposal.label);
        }
    }
}
