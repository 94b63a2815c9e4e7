//! A real PostgreSQL server for tests, started once per test binary on a
//! temporary directory and a free port, and stopped when the binary exits.
//!
//! - Binaries: `/usr/lib/postgresql/*/bin` (newest first), else `initdb` on
//!   the `PATH`.
//! - As root, the data directory belongs to the `postgres` user and the
//!   server runs as that user (`initdb` refuses root).
//! - The superuser `trueup` has the password [`PASSWORD`]; the server only
//!   accepts SCRAM passwords, on 127.0.0.1 and a Unix socket in the directory.
//! - The server is stopped (immediate shutdown) and its directory removed at
//!   exit; should the test binary be killed, the server gets SIGQUIT from the
//!   kernel (parent-death signal) and shuts down by itself.
//! - Not installed: [`server`] prints why and returns `None`, so tests skip,
//!   unless `CI=true`, where it panics.
//!
//! Each test makes its own database with [`PgServer::database`].

#![allow(dead_code)]

use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use trueup::connectors::postgres::PgConfig;

/// The test superuser.
pub const USER: &str = "trueup";
/// The test superuser's password.
pub const PASSWORD: &str = "canary-Pw-7f3a9c";

/// A running test server.
#[derive(Debug)]
pub struct PgServer {
    /// The temporary directory: data, socket, log.
    pub dir: PathBuf,
    /// The TCP port on 127.0.0.1.
    pub port: u16,
    /// The postmaster's process id.
    pid: i32,
}

static SERVER: OnceLock<Option<PgServer>> = OnceLock::new();
static DATABASES: AtomicUsize = AtomicUsize::new(0);

/// The shared server, started on first use; `None` when PostgreSQL is not
/// installed (outside CI).
pub fn server() -> Option<&'static PgServer> {
    SERVER.get_or_init(start).as_ref()
}

fn skip(reason: &str) -> Option<PgServer> {
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("PostgreSQL tests cannot run in CI: {reason}");
    }
    eprintln!("skipping PostgreSQL tests: {reason}");
    None
}

/// Finds the directory holding `initdb` and `postgres`.
fn bin_dir() -> Option<PathBuf> {
    let mut candidates: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let version = e.file_name().to_string_lossy().parse::<u32>().ok()?;
            Some((version, e.path().join("bin")))
        })
        .collect();
    candidates.sort_by_key(|c| std::cmp::Reverse(c.0));
    let mut dirs: Vec<PathBuf> = candidates.into_iter().map(|(_, p)| p).collect();
    for dir in std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()) {
        if let Ok(real) = std::fs::canonicalize(dir.join("initdb")) {
            dirs.push(real.parent().unwrap().to_path_buf());
        }
    }
    dirs.into_iter()
        .find(|d| d.join("initdb").is_file() && d.join("postgres").is_file())
}

/// The uid and gid of the `postgres` user.
fn postgres_user() -> Option<(u32, u32)> {
    let name = std::ffi::CString::new("postgres").unwrap();
    // SAFETY: getpwnam returns a pointer to static storage or null; we copy
    // the two numbers out at once, in a test process.
    let pw = unsafe { libc::getpwnam(name.as_ptr()) };
    if pw.is_null() {
        return None;
    }
    // SAFETY: checked non-null above.
    unsafe { Some(((*pw).pw_uid, (*pw).pw_gid)) }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn as_user(cmd: &mut Command, user: Option<(u32, u32)>) -> &mut Command {
    if let Some((uid, gid)) = user {
        cmd.uid(uid).gid(gid);
    }
    cmd
}

/// Removes the directories of servers whose test binary was killed (their
/// server shut down by itself, leaving the directory behind).
fn remove_stale_dirs() {
    let tmp = std::env::temp_dir();
    for entry in std::fs::read_dir(&tmp).into_iter().flatten().flatten() {
        let dir = entry.path();
        let name = entry.file_name().to_string_lossy().to_string();
        let old = entry
            .metadata()
            .and_then(|m| m.modified())
            .is_ok_and(|t| t.elapsed().unwrap_or_default() > Duration::from_secs(600));
        if name.starts_with("trueup-pg-") && old && !dir.join("data/postmaster.pid").exists() {
            let _ = std::fs::remove_dir_all(&dir);
        }
    }
}

fn start() -> Option<PgServer> {
    remove_stale_dirs();
    let Some(bin) = bin_dir() else {
        return skip("initdb/postgres not found on PATH or in /usr/lib/postgresql/*/bin");
    };
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    let user = if root {
        match postgres_user() {
            Some(u) => Some(u),
            None => {
                return skip("running as root and there is no `postgres` user to run the server");
            }
        }
    } else {
        None
    };
    let dir = tempfile::Builder::new()
        .prefix("trueup-pg-")
        .tempdir()
        .unwrap()
        .keep();
    let data = dir.join("data");
    let pwfile = dir.join("pwfile");
    std::fs::write(&pwfile, PASSWORD).unwrap();
    if let Some((uid, gid)) = user {
        for p in [&dir, &pwfile] {
            std::os::unix::fs::chown(p, Some(uid), Some(gid)).unwrap();
        }
    }
    let out = as_user(&mut Command::new(bin.join("initdb")), user)
        .args(["-D", path(&data), "-U", USER, "--pwfile", path(&pwfile)])
        .args([
            "--auth=scram-sha-256",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
        ])
        .current_dir(&dir)
        .output()
        .expect("run initdb");
    assert!(
        out.status.success(),
        "initdb failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let _ = std::fs::remove_file(&pwfile);

    // SAFETY: registering a plain extern "C" function.
    unsafe {
        libc::atexit(stop_at_exit);
    }
    // The free port may be taken by someone else before the server binds
    // it: try a few ports.
    for attempt in 1..=3 {
        let port = free_port();
        let pid = spawn_server(&bin, &data, &dir, port, user);
        let server = PgServer {
            dir: dir.clone(),
            port,
            pid,
        };
        match server.wait_ready() {
            Ok(()) => return Some(server),
            Err(log) if attempt < 3 && log.contains("could not bind") => continue,
            Err(log) => {
                let _ = std::fs::remove_dir_all(&dir);
                panic!("PostgreSQL exited while starting: {log}");
            }
        }
    }
    unreachable!("the last attempt returns or panics")
}

/// Starts `postgres` on `port` and returns its process id.
fn spawn_server(bin: &Path, data: &Path, dir: &Path, port: u16, user: Option<(u32, u32)>) -> i32 {
    let log = std::fs::File::create(dir.join("server.log")).unwrap();
    let mut cmd = Command::new(bin.join("postgres"));
    as_user(&mut cmd, user)
        .args(["-D", path(data), "-p", &port.to_string(), "-k", path(dir)])
        .args(["-c", "listen_addresses=127.0.0.1", "-c", "fsync=off"])
        .args(["-c", "synchronous_commit=off", "-c", "full_page_writes=off"])
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log);
    // SAFETY: prctl is async-signal-safe; it asks the kernel to send SIGQUIT
    // (immediate shutdown) to the server when the thread that spawned it
    // dies, which is at the exit of the test process.
    unsafe {
        cmd.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGQUIT);
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
    rx.recv().unwrap().expect("start postgres") as i32
}

fn path(p: &Path) -> &str {
    p.to_str().expect("temporary paths are UTF-8")
}

extern "C" fn stop_at_exit() {
    if let Some(Some(server)) = SERVER.get() {
        server.stop();
    }
}

impl PgServer {
    fn stop(&self) {
        // SAFETY: signalling and reaping our own child process.
        unsafe {
            libc::kill(self.pid, libc::SIGQUIT);
            let deadline = Instant::now() + Duration::from_secs(10);
            let mut status = 0;
            while libc::waitpid(self.pid, &mut status, libc::WNOHANG) == 0
                && Instant::now() < deadline
            {
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

    /// Waits until the server accepts connections; the server's log when it
    /// exited instead.
    fn wait_ready(&self) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            match self.superuser_client("postgres") {
                Ok(_) => return Ok(()),
                Err(e) => {
                    let log =
                        std::fs::read_to_string(self.dir.join("server.log")).unwrap_or_default();
                    if self.exited() {
                        return Err(log);
                    }
                    if Instant::now() > deadline {
                        panic!("PostgreSQL did not accept connections within 60 s: {e}\n{log}");
                    }
                    std::thread::sleep(Duration::from_millis(100));
                }
            }
        }
    }

    /// A client connected as the superuser to `database`.
    pub fn superuser_client(&self, database: &str) -> Result<postgres::Client, postgres::Error> {
        postgres::Config::new()
            .host("127.0.0.1")
            .port(self.port)
            .user(USER)
            .password(PASSWORD)
            .dbname(database)
            .connect(postgres::NoTls)
    }

    /// Creates a fresh database (named after `hint`) and returns how to
    /// reach it, with the right password.
    pub fn database(&self, hint: &str) -> PgConfig {
        let n = DATABASES.fetch_add(1, Ordering::SeqCst);
        let name = format!("{hint}_{n}").to_lowercase();
        let mut admin = self.superuser_client("postgres").unwrap();
        admin
            .batch_execute(&format!("CREATE DATABASE \"{name}\""))
            .unwrap();
        PgConfig {
            host: "127.0.0.1".into(),
            port: self.port,
            user: USER.into(),
            database: name,
            password: Some(PASSWORD.into()),
        }
    }

    /// A client for a database made by [`PgServer::database`].
    pub fn client(&self, config: &PgConfig) -> postgres::Client {
        self.superuser_client(&config.database).unwrap()
    }
}
