//! Value maps: code tables translating a source code into a target code.
//! Inline in the configuration or in a CSV file with columns `source,target`
//! (editable in a spreadsheet).

use std::collections::HashMap;
use std::path::Path;

use crate::config::ValueMapConfig;
use crate::connectors::csv::{CsvOptions, read_all};
use crate::error::{Error, Result};

/// A loaded value map.
#[derive(Debug, Clone, Default)]
pub struct ValueMap {
    entries: HashMap<String, String>,
    ignore_case: bool,
}

impl ValueMap {
    /// Loads a value map; `base` resolves a relative file.
    pub fn load(config: &ValueMapConfig, base: &Path) -> Result<ValueMap> {
        let mut map = ValueMap {
            entries: HashMap::new(),
            ignore_case: config.ignore_case,
        };
        if let Some(file) = &config.file {
            let path = base.join(file);
            let (headers, rows) = read_all(&path, &CsvOptions::default())?;
            let si = headers.iter().position(|h| h == "source").ok_or_else(|| {
                Error::input(
                    &path,
                    Some(1),
                    Some("source"),
                    "a value map needs a `source` column",
                )
            })?;
            let ti = headers.iter().position(|h| h == "target").ok_or_else(|| {
                Error::input(
                    &path,
                    Some(1),
                    Some("target"),
                    "a value map needs a `target` column",
                )
            })?;
            for (line, row) in rows {
                let k = map.norm(&row[si]);
                if map.entries.insert(k, row[ti].clone()).is_some() {
                    return Err(Error::input(
                        &path,
                        Some(line),
                        Some("source"),
                        format!("source value {:?} is mapped twice", row[si]),
                    ));
                }
            }
        }
        for (k, v) in &config.entries {
            let k = map.norm(k);
            map.entries.insert(k, v.clone());
        }
        Ok(map)
    }

    fn norm(&self, v: &str) -> String {
        if self.ignore_case {
            v.trim().to_lowercase()
        } else {
            v.to_string()
        }
    }

    /// The target value for a source value, or `None` when unmapped.
    pub fn get(&self, source: &str) -> Option<&str> {
        self.entries.get(&self.norm(source)).map(String::as_str)
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// Adds an entry to a value map's CSV file (creating it), so one decision maps every record with that value.
pub fn add_entry(file: &Path, source: &str, target: &str) -> Result<()> {
    let exists = file.exists();
    let f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(file)
        .map_err(|e| Error::io(file, e))?;
    let mut w = csv::Writer::from_writer(f);
    if !exists {
        w.write_record(["source", "target"])
            .map_err(|e| Error::io(file, std::io::Error::other(e)))?;
    }
    w.write_record([source, target])
        .map_err(|e| Error::io(file, std::io::Error::other(e)))?;
    w.flush().map_err(|e| Error::io(file, e))
}
