//! The CSV system: reads an entity from a CSV file.

use std::path::PathBuf;

use super::bytes::CsvBytes;
use super::format::CsvOptions;
use crate::connectors::{Capabilities, ConnectionInfo, Connector, EntitySource, RecordSink};
use crate::error::{Error, Result};
use crate::records::Schema;

/// A CSV file, or a folder of CSV files (one per entity).
#[derive(Debug, Clone)]
pub struct CsvSystem {
    path: PathBuf,
    options: CsvOptions,
}

impl CsvSystem {
    /// A CSV system at `path` (a file, or a folder whose entities name their `file`).
    pub fn new(path: PathBuf, options: CsvOptions) -> Self {
        CsvSystem { path, options }
    }

    fn file_for(&self, source: &EntitySource) -> PathBuf {
        match &source.file {
            Some(f) => self.path.join(f),
            None => self.path.clone(),
        }
    }
}

impl Connector for CsvSystem {
    fn check(&mut self) -> Result<ConnectionInfo> {
        if self.path.is_dir() {
            let mut entities = Vec::new();
            let dir = std::fs::read_dir(&self.path).map_err(|e| Error::io(&self.path, e))?;
            for entry in dir.flatten() {
                let name = entry.file_name().to_string_lossy().to_string();
                if name.to_ascii_lowercase().ends_with(".csv") {
                    entities.push(name);
                }
            }
            entities.sort();
            return Ok(ConnectionInfo {
                description: format!("folder of {} CSV files", entities.len()),
                entities,
            });
        }
        let reader = CsvBytes::open(&self.path, &self.options)?;
        Ok(ConnectionInfo {
            description: format!(
                "CSV file, {}, {} columns",
                reader.format().describe(),
                reader.headers().len()
            ),
            entities: vec![],
        })
    }

    fn read(&mut self, source: &EntitySource, sink: &mut dyn RecordSink) -> Result<()> {
        let path = self.file_for(source);
        let source = CsvBytes::open(&path, &self.options)?;
        sink.schema(&Schema::new(source.headers().iter().cloned()))?;
        let mut records = source.records()?;
        while let Some((pos, fields)) = records.next_record()? {
            let values: Vec<Option<&str>> = (0..fields.len())
                .map(|i| {
                    let f = std::str::from_utf8(fields.get(i)).unwrap_or("\u{fffd}");
                    (!f.is_empty()).then_some(f)
                })
                .collect();
            if !sink.record_borrowed(pos.line, &values)? {
                break;
            }
        }
        Ok(())
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            read: true,
            write: false,
            conditional_writes: false,
        }
    }
}
