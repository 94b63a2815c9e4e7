//! The match index: which group (match key hash) each cached record was in
//! at the last reconcile. It lets the next reconcile revisit only the groups
//! that changed records belong to.
//!
//! It is derived data, kept beside the cache in `.trueup/`, and disposable:
//! it names the run it was written for, and a reconcile that finds it
//! missing, damaged or from another run simply does a full reconcile (which
//! writes a new one).

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

const MAGIC: &[u8; 8] = b"TRUEUPX1";

/// Record rowids and the hash of their group key, per side, sorted by rowid.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct MatchIndex {
    pub run_id: i64,
    pub left: Vec<(i64, u64)>,
    pub right: Vec<(i64, u64)>,
}

/// The hash of a group key.
pub(crate) fn key_hash(key: &str) -> u64 {
    xxhash_rust::xxh3::xxh3_64(key.as_bytes())
}

impl MatchIndex {
    /// Where the index of reconciliation `recon` lives in workspace `dir`.
    pub fn path(dir: &Path, recon: &str) -> PathBuf {
        let safe: String = recon
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        dir.join(".trueup").join(format!("{safe}.match-index"))
    }

    /// Writes the index (temporary file, then rename).
    pub fn save(&self, path: &Path) -> Result<()> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        }
        let tmp = path.with_extension("tmp");
        let mut buf = Vec::with_capacity(24 + 16 * (self.left.len() + self.right.len()));
        buf.extend_from_slice(MAGIC);
        buf.extend_from_slice(&self.run_id.to_le_bytes());
        for side in [&self.left, &self.right] {
            buf.extend_from_slice(&(side.len() as u64).to_le_bytes());
            for (rid, h) in side {
                buf.extend_from_slice(&rid.to_le_bytes());
                buf.extend_from_slice(&h.to_le_bytes());
            }
        }
        let mut f = std::fs::File::create(&tmp).map_err(|e| Error::io(&tmp, e))?;
        f.write_all(&buf).map_err(|e| Error::io(&tmp, e))?;
        std::fs::rename(&tmp, path).map_err(|e| Error::io(path, e))
    }

    /// Reads the index; `None` when missing or damaged.
    pub fn load(path: &Path) -> Option<MatchIndex> {
        let mut bytes = Vec::new();
        std::fs::File::open(path)
            .ok()?
            .read_to_end(&mut bytes)
            .ok()?;
        if bytes.get(..8)? != MAGIC {
            return None;
        }
        let mut at = 8;
        let u64_at = |at: &mut usize| -> Option<u64> {
            let v = u64::from_le_bytes(bytes.get(*at..*at + 8)?.try_into().ok()?);
            *at += 8;
            Some(v)
        };
        let run_id = u64_at(&mut at)? as i64;
        let mut sides = Vec::new();
        for _ in 0..2 {
            let n = u64_at(&mut at)? as usize;
            let mut side = Vec::with_capacity(n.min(1 << 28));
            for _ in 0..n {
                let rid = u64_at(&mut at)? as i64;
                let h = u64_at(&mut at)?;
                side.push((rid, h));
            }
            sides.push(side);
        }
        let right = sides.pop()?;
        let left = sides.pop()?;
        Some(MatchIndex {
            run_id,
            left,
            right,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_damage() {
        let dir = tempfile::tempdir().unwrap();
        let path = MatchIndex::path(dir.path(), "customers");
        let idx = MatchIndex {
            run_id: 7,
            left: vec![(1, 10), (5, 11)],
            right: vec![(2, 10)],
        };
        idx.save(&path).unwrap();
        assert_eq!(MatchIndex::load(&path), Some(idx.clone()));
        let mut bytes = std::fs::read(&path).unwrap();
        bytes.truncate(bytes.len() - 3);
        std::fs::write(&path, bytes).unwrap();
        assert_eq!(MatchIndex::load(&path), None, "a damaged index is ignored");
    }
}
