//! CSV files as a system: one file is one entity.
//!
//! Reads UTF-8 (with or without BOM), UTF-16 and Windows-1252/Latin-1,
//! detected or configured; detects comma, semicolon, tab and pipe
//! delimiters; accepts quoted fields with newlines; reports ragged rows and
//! unterminated quotes with their line numbers.

mod bytes;
mod format;
mod reader;
mod system;

pub use bytes::{ByteRecords, CsvBytes, Fields, RecordParser, RecordPos};
pub use format::{
    CsvFormat, CsvOptions, EncodingChoice, detect_delimiter, detect_encoding, parse_delimiter,
    sniff, sniff_bytes,
};
pub use reader::{Lines, read_all};
pub use system::CsvSystem;
