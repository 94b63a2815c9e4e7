//! Invariant 7: secrets never land in the config, the cache, logs, exports
//! or error messages. Every command runs with a canary password; then every
//! file the workspace holds and everything printed is searched for it.

mod support;

use std::process::Command;

use support::{TWO_CSV, TempWorkspace};

const CANARY: &str = "canary-Pa55-7f3e9b";

#[test]
fn canary_password_appears_nowhere() {
    // A free port with nothing listening: the connection is refused.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let config = format!(
        "{TWO_CSV}\n[systems.pg]\nkind = \"postgres\"\nhost = \"127.0.0.1\"\nport = {port}\nuser = \"trueup\"\ndatabase = \"erp\"\npassword = {{ env = \"TRUEUP_TEST_PG_PASSWORD\" }}\n\n[entities.pg_customers]\nsystem = \"pg\"\ntable = \"customers\"\nid = [\"id\"]\n"
    );
    let ws = TempWorkspace::new(
        &config,
        &[
            ("left.csv", "id,no,name,status\n1,N1,Ann,A\n"),
            ("right.csv", "rid,no,name,status\n10,N1,Anne,active\n"),
            ("status.csv", "source,target\nA,active\n"),
        ],
    );
    let mut printed = String::new();
    let commands: &[&[&str]] = &[
        &["systems", "list"],
        &["systems", "test", "pg"],
        &["pull"],
        &["pull", "pg_customers"],
        &["reconcile", "--pull", "c"],
        &["proposals", "c"],
        &["--json", "proposals", "c"],
        &["approve", "c", "N1"],
        &["export", "c", "--what", "diff"],
        &["export", "c", "--what", "decisions"],
        &["history"],
        &["--json", "history"],
        &["suggest", "l", "pg_customers"],
    ];
    for args in commands {
        let out = Command::new(env!("CARGO_BIN_EXE_trueup"))
            .arg("-w")
            .arg(ws.path())
            .args(*args)
            .env("TRUEUP_TEST_PG_PASSWORD", CANARY)
            .env("RUST_LOG", "trace")
            .output()
            .unwrap();
        printed.push_str(&String::from_utf8_lossy(&out.stdout));
        printed.push_str(&String::from_utf8_lossy(&out.stderr));
    }
    assert!(
        printed.contains("pg"),
        "the PostgreSQL commands ran and reported: {printed}"
    );
    assert!(
        !printed.contains(CANARY),
        "printed output holds the password"
    );
    for (path, bytes) in support::snapshot_files(ws.path()) {
        let hay = String::from_utf8_lossy(&bytes);
        assert!(
            !hay.contains(CANARY),
            "{} holds the password",
            path.display()
        );
    }
}
