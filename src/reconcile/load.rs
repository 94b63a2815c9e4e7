//! Loading an entity's records from the cache for reconciling: packed rows,
//! read on their own connection so both sides load in parallel.

use std::path::Path;

use crate::error::{Error, Result};
use crate::records::{Schema, unpack};

/// Many strings in one buffer: no allocation per record to make or free.
#[derive(Debug, Default)]
pub(crate) struct Arena {
    data: String,
    ends: Vec<usize>,
}

impl Arena {
    fn with_capacity(n: usize) -> Arena {
        Arena {
            data: String::new(),
            ends: Vec::with_capacity(n),
        }
    }

    /// Appends a string.
    pub fn push(&mut self, s: &str) {
        self.data.push_str(s);
        self.ends.push(self.data.len());
    }

    /// How many strings.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// The strings in order.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        (0..self.len()).map(|i| &self[i])
    }
}

impl std::ops::Index<usize> for Arena {
    type Output = str;
    fn index(&self, i: usize) -> &str {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.data[start..self.ends[i]]
    }
}

/// A record's values, borrowed; on the stack for up to 24 fields.
pub(crate) type Values<'a> = smallvec::SmallVec<[Option<&'a str>; 24]>;

/// One side of a reconciliation, as cached.
#[derive(Debug)]
pub(crate) struct Side {
    pub schema: Schema,
    /// Record ids in their system.
    pub keys: Arena,
    /// Packed values.
    pub rows: Arena,
    /// Row hashes.
    pub hashes: Vec<u64>,
    /// Snapshot that last changed each record.
    pub seqs: Vec<i64>,
    /// Row ids in the cache.
    pub ids: Vec<i64>,
    /// The newest snapshot of this entity.
    pub max_seq: i64,
}

impl Side {
    /// The values of record `i`, borrowed.
    pub fn values(&self, i: usize) -> Values<'_> {
        unpack(&self.rows[i]).collect()
    }
}

/// Reads every cached record of `entity` from the cache at `path`.
pub(crate) fn load_side(path: &Path, entity: &str) -> Result<Side> {
    let e = |x: rusqlite::Error| Error::cache(path, x);
    let conn = rusqlite::Connection::open_with_flags(
        path,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(e)?;
    conn.busy_timeout(std::time::Duration::from_secs(5))
        .map_err(e)?;
    let tx = conn.unchecked_transaction().map_err(e)?;
    let snap: Option<(String, i64)> = tx
        .query_row(
            "SELECT fields, id FROM snapshots WHERE entity = ?1 AND status = 'ok' ORDER BY id DESC LIMIT 1",
            [entity],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .map(Some)
        .or_else(|x| match x {
            rusqlite::Error::QueryReturnedNoRows => Ok(None),
            x => Err(x),
        })
        .map_err(e)?;
    let Some((fields, max_seq)) = snap else {
        return Err(Error::NotFound(format!(
            "entity {entity:?} has not been pulled yet; run `trueup pull {entity}` first"
        )));
    };
    let fields: Vec<String> = serde_json::from_str(&fields).map_err(|x| Error::cache(path, x))?;
    // An entity's records sit mostly together in rowid order: scan that
    // range of the table instead of visiting rows through the key index
    // (which would then need sorting or random reads).
    let (count, lo, hi): (i64, Option<i64>, Option<i64>) = tx
        .query_row(
            "SELECT count(*), min(id), max(id) FROM records WHERE entity = ?1",
            [entity],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .map_err(e)?;
    let n = count as usize;
    let mut side = Side {
        schema: Schema::new(fields),
        keys: Arena::with_capacity(n),
        rows: Arena::with_capacity(n),
        hashes: Vec::with_capacity(n),
        seqs: Vec::with_capacity(n),
        ids: Vec::with_capacity(n),
        max_seq,
    };
    let mut stmt = tx
        .prepare(
            "SELECT key, hash, vals, seq, id FROM records NOT INDEXED WHERE id BETWEEN ?2 AND ?3 AND entity = ?1",
        )
        .map_err(e)?;
    let mut rows = stmt
        .query((entity, lo.unwrap_or(0), hi.unwrap_or(-1)))
        .map_err(e)?;
    while let Some(r) = rows.next().map_err(e)? {
        let key = r
            .get_ref(0)
            .map_err(e)?
            .as_str()
            .map_err(|x| Error::cache(path, x))?;
        side.keys.push(key);
        side.hashes.push(r.get::<_, i64>(1).map_err(e)? as u64);
        let vals = r
            .get_ref(2)
            .map_err(e)?
            .as_str()
            .map_err(|x| Error::cache(path, x))?;
        side.rows.push(vals);
        side.seqs.push(r.get(3).map_err(e)?);
        side.ids.push(r.get(4).map_err(e)?);
    }
    Ok(side)
}

impl Side {
    /// An empty side with a schema, to fill with some records.
    pub fn partial(schema: Schema, max_seq: i64) -> Side {
        Side {
            schema,
            keys: Arena::default(),
            rows: Arena::default(),
            hashes: vec![],
            seqs: vec![],
            ids: vec![],
            max_seq,
        }
    }

    /// Adds a record read from a `SELECT key, hash, vals, seq, id` row.
    pub fn push_row(&mut self, r: &rusqlite::Row<'_>) -> rusqlite::Result<()> {
        self.keys.push(r.get_ref(0)?.as_str()?);
        self.hashes.push(r.get::<_, i64>(1)? as u64);
        self.rows.push(r.get_ref(2)?.as_str()?);
        self.seqs.push(r.get(3)?);
        self.ids.push(r.get(4)?);
        Ok(())
    }
}

/// The newest successful snapshot of an entity and its fields.
pub(crate) fn latest_snapshot(
    conn: &rusqlite::Connection,
    entity: &str,
) -> rusqlite::Result<Option<(i64, Vec<String>)>> {
    conn.query_row(
        "SELECT id, fields FROM snapshots WHERE entity = ?1 AND status = 'ok' ORDER BY id DESC LIMIT 1",
        [entity],
        |r| {
            let fields: String = r.get(1)?;
            Ok((r.get(0)?, serde_json::from_str(&fields).unwrap_or_default()))
        },
    )
    .map(Some)
    .or_else(|e| match e {
        rusqlite::Error::QueryReturnedNoRows => Ok(None),
        e => Err(e),
    })
}
