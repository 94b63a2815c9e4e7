//! A real connector with failures injected into its writes: the push
//! tests' way to make a target fail before or after applying a change.
#![allow(dead_code)]

use std::collections::VecDeque;

use trueup::connectors::{
    Capabilities, ConnectionInfo, Connector, EntitySource, Field, RecordSink, WriteChange,
    WriteOutcome,
};
use trueup::{Error, ErrorCode};

/// A failure to inject into the next write.
#[derive(Debug, Clone, Copy)]
pub enum Fault {
    /// Fail without writing.
    Before(ErrorCode),
    /// Write, then fail as if the answer was lost.
    After(ErrorCode),
}

/// A real connector with failures injected into its writes.
pub struct Faulty {
    pub inner: Box<dyn Connector>,
    pub faults: VecDeque<Fault>,
    /// Writes asked for (each change of a batch counts once).
    pub writes: usize,
}

pub fn injected(code: ErrorCode) -> Error {
    Error::System {
        system: "crm".into(),
        code,
        message: format!("injected {code:?}"),
    }
}

impl Connector for Faulty {
    fn check(&mut self) -> trueup::Result<ConnectionInfo> {
        self.inner.check()
    }
    fn read(&mut self, source: &EntitySource, sink: &mut dyn RecordSink) -> trueup::Result<()> {
        self.inner.read(source, sink)
    }
    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }
    fn read_one(
        &mut self,
        source: &EntitySource,
        id: &[Field],
    ) -> trueup::Result<Option<Vec<Field>>> {
        self.inner.read_one(source, id)
    }
    fn write(
        &mut self,
        source: &EntitySource,
        change: &WriteChange,
    ) -> trueup::Result<WriteOutcome> {
        self.writes += 1;
        match self.faults.pop_front() {
            Some(Fault::Before(code)) => Err(injected(code)),
            Some(Fault::After(code)) => {
                self.inner.write(source, change)?;
                Err(injected(code))
            }
            None => self.inner.write(source, change),
        }
    }
}

impl Faulty {
    /// `inner` with these faults, in order, one per write.
    pub fn new(inner: impl Connector + 'static, faults: &[Fault]) -> Faulty {
        Faulty {
            inner: Box::new(inner),
            faults: faults.iter().copied().collect(),
            writes: 0,
        }
    }
}
