//! XLSX workbook system (interim; replaced by the full connector).

use std::path::PathBuf;

use crate::connectors::{Capabilities, ConnectionInfo, Connector, EntitySource, RecordSink};
use crate::error::{Error, Result};

/// An Excel workbook.
#[derive(Debug)]
pub struct XlsxSystem {
    #[allow(dead_code)]
    name: String,
    #[allow(dead_code)]
    path: PathBuf,
}

impl XlsxSystem {
    /// A system named `name` reading the workbook at `path`.
    pub fn new(name: String, path: PathBuf) -> Self {
        XlsxSystem { name, path }
    }
}

impl Connector for XlsxSystem {
    fn check(&mut self) -> Result<ConnectionInfo> {
        Err(Error::Invalid("xlsx: not yet".into()))
    }
    fn read(&mut self, _source: &EntitySource, _sink: &mut dyn RecordSink) -> Result<()> {
        Err(Error::Invalid("xlsx: not yet".into()))
    }
    fn capabilities(&self) -> Capabilities {
        Capabilities::default()
    }
}
