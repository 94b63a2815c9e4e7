//! Shared helpers for the integration tests: temporary workspaces and the CLI.
#![allow(dead_code)]

pub mod crash;
pub mod hubspot_workspace;
pub mod wire;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A temporary workspace folder with the given `trueup.toml` and files.
pub struct TempWorkspace {
    pub dir: tempfile::TempDir,
}

impl TempWorkspace {
    pub fn new(config: &str, files: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("trueup.toml"), config).expect("write config");
        for (name, text) in files {
            let p = dir.path().join(name);
            if let Some(parent) = p.parent() {
                std::fs::create_dir_all(parent).unwrap();
            }
            std::fs::write(p, text).expect("write file");
        }
        TempWorkspace { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn write(&self, name: &str, text: &str) {
        std::fs::write(self.dir.path().join(name), text).expect("write file");
    }

    /// Runs the `trueup` binary in this workspace.
    pub fn run(&self, args: &[&str]) -> Output {
        trueup(self.path(), args)
    }

    /// The cached records of `entity`, by key: (key, packed values).
    pub fn cached(&self, entity: &str) -> Vec<(String, String)> {
        let conn = rusqlite::Connection::open(self.path().join("trueup.db")).unwrap();
        let mut stmt = conn
            .prepare("SELECT key, vals FROM records WHERE entity = ?1 ORDER BY key")
            .unwrap();
        stmt.query_map([entity], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    }
}

/// Runs the `trueup` binary with `-w dir`.
pub fn trueup(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_trueup"))
        .arg("-w")
        .arg(dir)
        .args(args)
        .env("USER", "tester")
        .output()
        .expect("run trueup")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Asserts success and returns stdout.
#[track_caller]
pub fn ok(o: Output) -> String {
    assert!(
        o.status.success(),
        "command failed ({:?}):\nstdout: {}\nstderr: {}",
        o.status,
        stdout(&o),
        stderr(&o)
    );
    stdout(&o)
}

/// Asserts failure and returns stderr.
#[track_caller]
pub fn fails(o: Output) -> String {
    assert!(
        !o.status.success(),
        "command should have failed:\nstdout: {}",
        stdout(&o)
    );
    stderr(&o)
}

/// A file's bytes, for before/after comparisons.
pub fn snapshot_files(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    for e in walk(dir) {
        out.push((e.clone(), std::fs::read(&e).unwrap_or_default()));
    }
    out.sort();
    out
}

pub fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

/// A two-CSV workspace: `left.csv` (source) and `right.csv` (target) with a
/// customer reconciliation on `no`.
pub const TWO_CSV: &str = r#"
[systems.left]
kind = "csv"
path = "left.csv"

[systems.right]
kind = "csv"
path = "right.csv"

[entities.l]
system = "left"
id = ["id"]

[entities.r]
system = "right"
id = ["rid"]

[reconciliations.c]
left = "l"
right = "r"
key = ["no"]

[[reconciliations.c.fields]]
target = "no"
source = "no"

[[reconciliations.c.fields]]
target = "name"
source = "name"

[[reconciliations.c.fields]]
target = "status"
source = "status"
value_map = "status"

[reconciliations.c.value_maps.status]
file = "status.csv"
"#;
