//! The cache: migrations apply to an older database; WAL; the schema version.

use trueup::cache::{Cache, migrations};

#[test]
fn migrations_are_valid_and_an_older_database_upgrades() {
    migrations().validate().expect("migrations are valid");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("trueup.db");
    // A database at the first schema version, with data in it.
    {
        let mut conn = rusqlite::Connection::open(&path).unwrap();
        migrations().to_version(&mut conn, 1).unwrap();
        conn.execute(
            "INSERT INTO runs (kind, subject, started_at, status) VALUES ('pull', 'x', '2026-01-01', 'ok')",
            [],
        )
        .unwrap();
    }
    let cache = Cache::open(&path).expect("an older database opens");
    assert_eq!(
        cache.runs(10).unwrap().len(),
        1,
        "its data survives the upgrade"
    );
    assert_eq!(cache.integrity_check().unwrap(), "ok");
    let mode: String = rusqlite::Connection::open(&path)
        .unwrap()
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
}

/// A cache written by a newer Trueup (a schema step this build does not
/// know) is refused with a sentence saying so, and left as it was.
#[test]
fn a_cache_from_a_newer_version_is_refused_plainly_and_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("trueup.db");
    drop(Cache::open(&path).unwrap());
    let newer = trueup::cache::migration_count() + 1;
    rusqlite::Connection::open(&path)
        .unwrap()
        .pragma_update(None, "user_version", newer as i64)
        .unwrap();
    let before = std::fs::read(&path).unwrap();
    let err = Cache::open(&path).expect_err("refused").to_string();
    assert!(
        err.contains("newer version of Trueup")
            && err.contains(&format!("cache schema {newer}"))
            && err.contains(&path.display().to_string()),
        "{err}"
    );
    let version: i64 = rusqlite::Connection::open(&path)
        .unwrap()
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, newer as i64, "the schema version is untouched");
    assert_eq!(
        std::fs::read(&path).unwrap(),
        before,
        "the file is untouched"
    );
}
