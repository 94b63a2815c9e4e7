//! Ctrl-C during a long pull leaves the cache as it was, and sound.

mod support;

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::{TWO_CSV, TempWorkspace, ok};

#[test]
fn interrupting_a_pull_keeps_the_cache_consistent() {
    let ws = TempWorkspace::new(
        TWO_CSV,
        &[
            ("left.csv", "id,no,name,status\n1,N1,Ann,A\n"),
            ("right.csv", "rid,no,name,status\n10,N1,Ann,active\n"),
            ("status.csv", "source,target\nA,active\n"),
        ],
    );
    ok(ws.run(&["reconcile", "--pull", "c"]));
    // A right file big enough that pulling it takes a while.
    {
        let mut f =
            std::io::BufWriter::new(std::fs::File::create(ws.path().join("right.csv")).unwrap());
        writeln!(f, "rid,no,name,status").unwrap();
        for i in 0..1_500_000 {
            writeln!(f, "{i},N{i},Name number {i},active").unwrap();
        }
    }
    let db = ws.path().join("trueup.db");
    let count = || -> i64 {
        rusqlite::Connection::open(&db)
            .unwrap()
            .query_row("SELECT count(*) FROM records WHERE entity = 'r'", [], |r| {
                r.get(0)
            })
            .unwrap()
    };
    assert_eq!(count(), 1);
    let child = Command::new(env!("CARGO_BIN_EXE_trueup"))
        .arg("-w")
        .arg(ws.path())
        .args(["pull", "r"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(400));
    // SAFETY: sending SIGINT to our own child process.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGINT);
    }
    let started = Instant::now();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "the pull of 1.5M rows finished within 400 ms, before the interrupt: make the file bigger"
    );
    assert_eq!(
        out.status.code(),
        Some(130),
        "exit status of an interrupted command: {stderr}"
    );
    assert!(stderr.contains("cancel"), "says it was cancelled: {stderr}");
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "stops promptly"
    );
    assert_eq!(count(), 1, "no partial pull in the cache");
    let conn = rusqlite::Connection::open(&db).unwrap();
    let ic: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(ic, "ok");
    let status: String = conn
        .query_row(
            "SELECT status FROM runs ORDER BY id DESC LIMIT 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(status, "cancelled", "the history says so");
}
