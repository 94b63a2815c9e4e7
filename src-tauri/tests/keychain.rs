//! The OS keychain for real: a private D-Bus session bus with
//! gnome-keyring-daemon as its Secret Service, started by the test. A secret
//! is stored and resolved through the core (`trueup::secrets`, feature
//! `keychain`, which this crate enables) and appears in no file of the
//! workspace. Skips with a printed reason when dbus-daemon or
//! gnome-keyring-daemon is missing (apt packages `dbus`, `gnome-keyring`:
//! scripts/desktop-deps.sh), and fails instead when `CI=true`.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use trueup::config::{SecretRef, SystemConfig};

struct Daemons {
    children: Vec<Child>,
}

impl Drop for Daemons {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn have(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
}

/// A private session bus and a Secret Service on it, both under `dir`;
/// `None` (skipped) when the programs are missing.
fn start(dir: &Path) -> Option<(Daemons, String)> {
    let missing: Vec<&str> = ["dbus-daemon", "gnome-keyring-daemon"]
        .into_iter()
        .filter(|p| !have(p))
        .collect();
    if !missing.is_empty() {
        let why = format!(
            "{} not installed (apt packages dbus, gnome-keyring; see scripts/desktop-deps.sh)",
            missing.join(" and ")
        );
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("the keychain test cannot run under CI: {why}");
        }
        eprintln!("SKIPPED keychain test: {why}");
        return None;
    }
    let home = dir.join("home");
    let runtime = dir.join("run");
    std::fs::create_dir_all(&home).unwrap();
    std::fs::create_dir_all(&runtime).unwrap();
    let mut daemons = Daemons { children: vec![] };
    let mut bus = Command::new("dbus-daemon")
        .args(["--session", "--nofork", "--print-address=1"])
        .env("HOME", &home)
        .env("XDG_RUNTIME_DIR", &runtime)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start dbus-daemon");
    let mut address = String::new();
    BufReader::new(bus.stdout.take().unwrap())
        .read_line(&mut address)
        .unwrap();
    daemons.children.push(bus);
    let address = address.trim().to_string();
    assert!(address.starts_with("unix:"), "bus address: {address:?}");
    let mut keyring = Command::new("gnome-keyring-daemon")
        .args(["--foreground", "--components=secrets", "--unlock"])
        .env("HOME", &home)
        .env("XDG_RUNTIME_DIR", &runtime)
        .env("XDG_DATA_HOME", home.join("data"))
        .env("DBUS_SESSION_BUS_ADDRESS", &address)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start gnome-keyring-daemon");
    // --unlock reads the login keyring's password from stdin; with one (not
    // empty) it creates the login keyring, unlocked, as the default collection.
    drop(
        keyring
            .stdin
            .take()
            .map(|mut s| s.write_all(b"trueup-test-keyring")),
    );
    daemons.children.push(keyring);
    // Wait until the Secret Service has its name on the bus.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let names = Command::new("dbus-send")
            .arg(format!("--bus={address}"))
            .args([
                "--print-reply",
                "--dest=org.freedesktop.DBus",
                "/org/freedesktop/DBus",
                "org.freedesktop.DBus.ListNames",
            ])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default();
        if names.contains("org.freedesktop.secrets") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "gnome-keyring-daemon did not register org.freedesktop.secrets"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    Some((daemons, address))
}

fn files_containing(dir: &Path, needle: &[u8], out: &mut Vec<String>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            files_containing(&p, needle, out);
        } else if let Ok(bytes) = std::fs::read(&p)
            && bytes.windows(needle.len()).any(|w| w == needle)
        {
            out.push(p.display().to_string());
        }
    }
}

#[test]
fn secrets_live_in_the_keychain_and_nowhere_in_the_workspace() {
    let dir = tempfile::tempdir().unwrap();
    let Some((_daemons, address)) = start(dir.path()) else {
        return;
    };
    // SAFETY: set before any other thread of this test binary touches the
    // environment or the keychain (this file has one test).
    unsafe { std::env::set_var("DBUS_SESSION_BUS_ADDRESS", &address) };

    trueup::secrets::available().expect("the Secret Service is reachable");
    let secret = format!("s3cret-{}", std::process::id());
    trueup::secrets::store("test-pg", &secret).expect("store");
    assert_eq!(trueup::secrets::get("test-pg").unwrap(), secret);
    let reference = SecretRef::Keychain("test-pg".into());
    assert_eq!(
        reference.resolve().unwrap(),
        secret,
        "the config's reference resolves"
    );

    // A workspace whose PostgreSQL system takes its password from there.
    let ws_dir = dir.path().join("ws");
    let mut ws = trueup::Workspace::init_demo(&ws_dir).unwrap();
    ws.set_system(
        "warehouse",
        SystemConfig::Postgres {
            host: "127.0.0.1".into(),
            port: 1,
            user: "trueup".into(),
            database: "trueup".into(),
            password: Some(reference),
        },
    )
    .unwrap();
    // Testing the connection resolves the secret (and fails to connect):
    // the error must not carry it.
    let err = ws.test_system("warehouse").unwrap_err().to_string();
    assert!(!err.contains(&secret), "the error shows the secret: {err}");
    let config = std::fs::read_to_string(ws_dir.join("trueup.toml")).unwrap();
    assert!(config.contains("keychain = \"test-pg\""), "{config}");
    let mut leaks = vec![];
    files_containing(&ws_dir, secret.as_bytes(), &mut leaks);
    assert!(
        leaks.is_empty(),
        "the secret is in workspace files: {leaks:?}"
    );
    // gnome-keyring encrypts its file: not there in plain text either.
    files_containing(&dir.path().join("home"), secret.as_bytes(), &mut leaks);
    assert!(
        leaks.is_empty(),
        "the secret is stored in plain text: {leaks:?}"
    );

    // An HTTP system added with its token typed: the core stores the token
    // in the keychain and writes only the reference; deleting the system
    // removes the entry it made.
    let token = format!("hubspot-tok-{}", std::process::id());
    let hubspot = SystemConfig::Hubspot(trueup::connectors::presets::HubspotSystemConfig {
        token: SecretRef::Keychain(String::new()),
        base_url: Some("http://127.0.0.1:1".into()),
        http: None,
    });
    ws.set_system_with_secret("crm_api", hubspot, Some(&token))
        .expect("saved with the token in the keychain");
    let account = trueup::secrets::account(&ws_dir, "crm_api");
    assert_eq!(trueup::secrets::get(&account).unwrap(), token);
    let config = std::fs::read_to_string(ws_dir.join("trueup.toml")).unwrap();
    assert!(
        config.contains(&format!("token = {{ keychain = {account:?} }}")),
        "{config}"
    );
    files_containing(&ws_dir, token.as_bytes(), &mut leaks);
    assert!(
        leaks.is_empty(),
        "the token is in workspace files: {leaks:?}"
    );
    ws.rename_system("crm_api", "hubspot").unwrap();
    assert_eq!(
        ws.system("hubspot")
            .unwrap()
            .secret()
            .unwrap()
            .resolve()
            .unwrap(),
        token,
        "a renamed system keeps its keychain entry"
    );
    ws.delete_system("hubspot").unwrap();
    assert_eq!(
        trueup::secrets::get(&account).unwrap_err().code(),
        trueup::ErrorCode::NotFound,
        "the entry the app made went with the system"
    );

    trueup::secrets::delete("test-pg").unwrap();
    let gone = trueup::secrets::get("test-pg").unwrap_err();
    assert_eq!(gone.code(), trueup::ErrorCode::NotFound, "{gone}");
}
