//! Unmapped values: the codes a value map does not know, grouped by value
//! with how many proposals they hold up, and mapping one of them once
//! (an entry in the value map's file; the next reconcile maps every record).

use std::path::PathBuf;

use serde::Serialize;

use crate::error::{Error, Result};
use crate::workspace::Workspace;

/// One unmapped value and the proposals it holds up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnmappedValue {
    /// The target field.
    pub field: String,
    /// The value map the field uses.
    pub map: Option<String>,
    /// The source value missing from the map.
    pub value: String,
    /// Proposals with this value in this field.
    pub count: u64,
}

/// The unmapped values of `recon`'s current proposals, most frequent first.
pub fn unmapped_values(ws: &Workspace, recon: &str) -> Result<Vec<UnmappedValue>> {
    let config = ws.reconciliation(recon)?;
    let mut stmt = ws
        .cache
        .conn
        .prepare(
            "SELECT json_extract(j.value, '$.field') AS f, json_extract(j.value, '$.value') AS v, \
             count(DISTINCT p.id) FROM proposals p, json_each(p.reasons) j \
             WHERE p.recon = ?1 AND json_extract(j.value, '$.code') = 'unmapped_value' \
             AND v IS NOT NULL GROUP BY f, v ORDER BY 3 DESC, f, v",
        )
        .map_err(|e| ws.cache.err(e))?;
    let rows = stmt
        .query_map([recon], |r| {
            Ok((
                r.get::<_, Option<String>>(0)?.unwrap_or_default(),
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)? as u64,
            ))
        })
        .map_err(|e| ws.cache.err(e))?;
    let rows = rows
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(|e| ws.cache.err(e))?;
    Ok(rows
        .into_iter()
        .map(|(field, value, count)| UnmappedValue {
            map: config
                .fields
                .iter()
                .find(|f| f.target == field)
                .and_then(|f| f.value_map.clone()),
            field,
            value,
            count,
        })
        .collect())
}

/// Maps `source` to `target` in value map `map` of `recon`: appends the
/// entry to the map's CSV file (creating it) and returns the file. The next
/// reconcile maps every record with that value.
pub fn map_value(
    ws: &Workspace,
    recon: &str,
    map: &str,
    source: &str,
    target: &str,
) -> Result<PathBuf> {
    let config = ws.reconciliation(recon)?;
    let vm = config.value_maps.get(map).ok_or_else(|| {
        Error::NotFound(format!("reconciliation {recon} has no value map {map:?}"))
    })?;
    let Some(file) = &vm.file else {
        return Err(Error::Invalid(format!(
            "value map {map:?} is inline in trueup.toml: add `{source:?} = {target:?}` to its entries"
        )));
    };
    if source.trim().is_empty() {
        return Err(Error::Invalid(format!(
            "value map {map:?}: the source value is empty"
        )));
    }
    let path = ws.resolve(file);
    crate::mapping::add_value_map_entry(&path, source, target)?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::progress::{Actor, Silent};

    #[test]
    fn unmapped_values_are_grouped_and_mapped_once() {
        let dir = tempfile::tempdir().unwrap();
        let mut ws = Workspace::init_demo(dir.path()).unwrap();
        let (now, actor, silent) = (
            "2026-11-25T10:00:00Z",
            Actor::os_user("test"),
            Silent::default(),
        );
        crate::pull::pull_sides(&mut ws, "customers", now, &actor, &silent).unwrap();
        crate::reconcile::reconcile(&mut ws, "customers", now, &actor, &silent).unwrap();
        let before = unmapped_values(&ws, "customers").unwrap();
        assert!(!before.is_empty(), "the demo has unmapped status codes");
        let top = before[0].clone();
        assert_eq!(top.field, "Status");
        assert_eq!(top.map.as_deref(), Some("status"));
        assert!(top.count > 1, "several records share the code: {before:?}");
        assert!(before.windows(2).all(|w| w[0].count >= w[1].count));

        let file = map_value(&ws, "customers", "status", &top.value, "inactive").unwrap();
        assert!(
            std::fs::read_to_string(&file)
                .unwrap()
                .contains(&format!("{},inactive", top.value))
        );
        let mut ws = Workspace::open(dir.path()).unwrap();
        crate::reconcile::reconcile(&mut ws, "customers", now, &actor, &silent).unwrap();
        let after = unmapped_values(&ws, "customers").unwrap();
        assert!(
            !after
                .iter()
                .any(|u| u.value == top.value && u.field == top.field),
            "every record with {:?} is mapped now: {after:?}",
            top.value
        );

        let err = map_value(&ws, "customers", "nope", "X", "y").unwrap_err();
        assert!(err.to_string().contains("no value map \"nope\""), "{err}");
        let err = map_value(&ws, "customers", "status", " ", "y").unwrap_err();
        assert!(err.to_string().contains("empty"), "{err}");
    }
}
