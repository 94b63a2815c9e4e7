//! Tryton 8.2 as a real target (a fresh `trytond` per test on a copy of the
//! template database, see `support/tryton.rs`): pull and reconcile parties,
//! push approved changes and read them back from the server, a party changed
//! between pull and push becomes a conflict with nothing written, SIGKILLed
//! pushes resume to exactly one effect per change (counted by triggers in
//! the server's database), and every failure is categorised.

mod support;

#[path = "support/tryton.rs"]
mod tryton;

use std::collections::BTreeMap;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;
use trueup::ErrorCode;
use trueup::connectors::http::HttpOptions;
use trueup::connectors::tryton::{RpcConfig, TrytonSystem};
use trueup::connectors::{Connector, EntitySource, Sample, WriteChange, WriteKind, WriteOutcome};

const PASSWORD_VAR: &str = "TRUEUP_TEST_TRYTON_PASSWORD";

fn config(server: &tryton::TrytonServer) -> String {
    format!(
        r#"
[systems.shop]
kind = "csv"
path = "left.csv"

[systems.erp]
kind = "tryton"
url = "{}"
database = "{}"
user = "{}"
password = {{ env = "{PASSWORD_VAR}" }}
page_size = 7

[entities.l]
system = "shop"
id = ["code"]

[entities.parties]
system = "erp"
table = "parties"
id = ["code"]
updated_at = "updated_at"

[reconciliations.c]
left = "l"
right = "parties"
key = ["code"]

[[reconciliations.c.fields]]
target = "code"
source = "code"

[[reconciliations.c.fields]]
target = "name"
source = "name"

[[reconciliations.c.fields]]
target = "email"
source = "email"

[[reconciliations.c.fields]]
target = "city"
source = "city"
"#,
        server.url(),
        tryton::DB,
        tryton::USER
    )
}

struct Setup {
    server: tryton::TrytonServer,
    ws: support::TempWorkspace,
}

impl Setup {
    fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_trueup"));
        c.arg("-w")
            .arg(self.ws.path())
            .args(args)
            .env("USER", "tester")
            .env(PASSWORD_VAR, tryton::PASSWORD);
        c
    }

    fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().unwrap()
    }

    fn ok(&self, args: &[&str]) -> String {
        support::ok(self.run(args))
    }

    fn json(&self, args: &[&str]) -> serde_json::Value {
        let mut a = vec!["--json"];
        a.extend_from_slice(args);
        let out = self.run(&a);
        serde_json::from_str(&support::stdout(&out)).unwrap_or_else(|_| {
            panic!(
                "JSON from {args:?}: {}{}",
                support::stdout(&out),
                support::stderr(&out)
            )
        })
    }

    /// (code, name, email, city) of every party, as Tryton shows them.
    fn parties(&mut self) -> BTreeMap<String, (String, String, String)> {
        let found = self
            .server
            .parties(json!([]), &["code", "name", "email", "addresses.city"]);
        found
            .iter()
            .map(|p| {
                let city = p["addresses."][0]["city"]
                    .as_str()
                    .unwrap_or("")
                    .to_string();
                (
                    p["code"].as_str().unwrap().to_string(),
                    (
                        p["name"].as_str().unwrap_or("").to_string(),
                        p["email"].as_str().unwrap_or("").to_string(),
                        city,
                    ),
                )
            })
            .collect()
    }
}

/// A server with `n` seeded parties (audit cleared) and a workspace whose
/// left side is `left` (CSV: code,name,email,city).
fn setup(n: usize, left: &str) -> Option<Setup> {
    let mut server = tryton::server()?;
    server.seed_parties(n);
    server.clear_audit();
    let ws = support::TempWorkspace::new(&config(&server), &[("left.csv", left)]);
    Some(Setup { server, ws })
}

fn connector(server: &tryton::TrytonServer, password: &str) -> TrytonSystem {
    TrytonSystem::new(
        "erp".into(),
        RpcConfig {
            url: server.url(),
            database: tryton::DB.into(),
            user: tryton::USER.into(),
            password: password.into(),
            options: HttpOptions::default(),
        },
        100,
    )
    .unwrap()
}

fn parties_source() -> EntitySource {
    EntitySource {
        table: Some("parties".into()),
        ..Default::default()
    }
}

const LEFT: &str = "code,name,email,city\n\
P00000,Party 0,p0@example.com,Liège\n\
P00001,Party One,p1@example.com,Liège\n\
P00002,Party 2,p2@new.example.com,Liège\n\
P00003,Party 3,p3@example.com,Namur\n\
N00001,New Party,new@example.com,Huy\n";

#[test]
fn parties_pull_reconcile_and_push_to_the_server() {
    let Some(mut t) = setup(5, LEFT) else {
        return;
    };
    let s = t.json(&["reconcile", "--pull", "c"]);
    let counts = &s[0]["counts"];
    assert_eq!(counts["in_sync"], 1, "P00000 agrees: {s}");
    assert_eq!(counts["update"], 3, "name, e-mail and city changes: {s}");
    assert_eq!(counts["create"], 1, "N00001 is new: {s}");
    assert_eq!(
        counts["orphan"], 2,
        "P00004 and the company's own party are only in Tryton: {s}"
    );

    t.ok(&["approve", "c", "--all", "--kind", "create,update"]);
    let report = t.json(&["push", "c"]);
    assert_eq!(report["outcomes"]["applied"], 4, "{report}");

    let parties = t.parties();
    let row = |a: &str, b: &str, c: &str| (a.to_string(), b.to_string(), c.to_string());
    assert_eq!(
        parties["P00001"],
        row("Party One", "p1@example.com", "Liège")
    );
    assert_eq!(
        parties["P00002"],
        row("Party 2", "p2@new.example.com", "Liège"),
        "the e-mail contact mechanism was rewritten"
    );
    assert_eq!(parties["P00003"], row("Party 3", "p3@example.com", "Namur"));
    assert_eq!(
        parties["N00001"],
        row("New Party", "new@example.com", "Huy"),
        "created with its code, e-mail and address"
    );
    assert_eq!(
        parties["P00004"],
        row("Party 4", "p4@example.com", "Liège"),
        "orphan kept"
    );

    let mut effects: Vec<(String, String, Option<String>)> = t
        .server
        .audit()
        .into_iter()
        .map(|(tbl, op, _, code, _)| (tbl, op, code))
        .collect();
    effects.sort();
    assert_eq!(
        effects,
        vec![
            ("cm".into(), "insert".into(), Some("email".into())),
            ("cm".into(), "update".into(), Some("email".into())),
            ("party".into(), "insert".into(), Some("N00001".into())),
            ("party".into(), "update".into(), Some("P00001".into())),
        ],
        "exactly the approved changes reached Tryton (the city is on the address)"
    );

    let s = t.json(&["reconcile", "--pull", "c"]);
    assert_eq!(s[0]["counts"]["in_sync"], 5, "everything agrees now: {s}");
    assert_eq!(s[0]["counts"]["orphan"], 2, "{s}");
}

#[test]
fn a_party_changed_between_pull_and_push_is_a_conflict_and_nothing_is_written() {
    let Some(mut t) = setup(5, LEFT) else {
        return;
    };
    t.ok(&["reconcile", "--pull", "c"]);
    t.ok(&["approve", "c", "--all", "--kind", "update"]);
    // Someone edits two parties in Tryton after the pull: the name of
    // P00001 (the field we change) and the e-mail of P00002 (ours too).
    let p1 = t.server.party("P00001").unwrap();
    t.server.rpc(
        "model.party.party.write",
        json!([[p1["id"]], {"name": "Theirs"}, {}]),
    );
    let cm: i64 = t.server.rpc(
        "model.party.contact_mechanism.search",
        json!([
            [["party.code", "=", "P00002"], ["type", "=", "email"]],
            0,
            1,
            null,
            {}
        ]),
    )[0]
    .as_i64()
    .unwrap();
    t.server.rpc(
        "model.party.contact_mechanism.write",
        json!([[cm], {"value": "p2@theirs.example.com"}, {}]),
    );
    t.server.clear_audit();

    let out = t.run(&["--json", "push", "c"]);
    let r: serde_json::Value = serde_json::from_str(&support::stdout(&out)).unwrap();
    let states: BTreeMap<String, String> = r["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["record"][0][1].as_str().unwrap().to_string(),
                e["state"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        states.get("P00001").map(String::as_str),
        Some("conflict"),
        "{r}"
    );
    assert_eq!(states["P00002"], "conflict", "{r}");
    assert_eq!(
        states["P00003"], "applied",
        "an untouched party still goes through: {r}"
    );
    let parties = t.parties();
    assert_eq!(parties["P00001"].0, "Theirs", "their name is kept");
    assert_eq!(
        parties["P00002"].1, "p2@theirs.example.com",
        "their e-mail is kept"
    );
    let written = t.server.audit();
    assert!(
        written
            .iter()
            .all(|(tbl, _, _, code, _)| tbl == "party" || code.as_deref() != Some("email")),
        "nothing written to the conflicting e-mail: {written:?}"
    );
    assert!(
        !written.iter().any(|(tbl, op, _, code, _)| tbl == "party"
            && op == "update"
            && code.as_deref() == Some("P00001")),
        "nothing written to the conflicting name: {written:?}"
    );
}

#[test]
fn tryton_refuses_a_write_with_a_stale_timestamp() {
    // The server-side guarantee the connector relies on, between its own
    // read and its write: a `_timestamp` older than the record is refused.
    let Some(mut server) = tryton::server() else {
        return;
    };
    server.seed_parties(1);
    let before = server.party("P00000").unwrap();
    server.rpc(
        "model.party.party.write",
        json!([[before["id"]], {"name": "Moved"}, {}]),
    );
    let key = format!("party.party,{}", before["id"]);
    let err = server
        .try_rpc(
            "model.party.party.write",
            json!([[before["id"]], {"name": "Ours"}, {"_timestamp": {key: before["_timestamp"]}}]),
        )
        .unwrap_err();
    assert_eq!(err[0], "ConcurrencyException", "{err}");
    assert_eq!(server.party("P00000").unwrap()["name"], "Moved");
}

#[test]
fn the_connector_reads_parties_and_products_and_writes_conditionally() {
    let Some(mut server) = tryton::server() else {
        return;
    };
    server.seed_parties(250);
    server.seed_products(3);
    let mut c = connector(&server, tryton::PASSWORD);
    let info = c.check().unwrap();
    assert!(
        info.description.contains("Tryton 8.2"),
        "{}",
        info.description
    );

    let mut sample = Sample {
        limit: 1000,
        ..Default::default()
    };
    c.read(&parties_source(), &mut sample).unwrap();
    assert_eq!(
        sample.rows.len(),
        251,
        "every page read (page size 100): the company's party and 250 seeded"
    );
    let schema = sample.schema.unwrap();
    let at = |name: &str| schema.index(name).unwrap();
    let first = &sample.rows[1].1;
    assert_eq!(first[at("code")].as_deref(), Some("P00000"));
    assert_eq!(first[at("email")].as_deref(), Some("p0@example.com"));
    assert_eq!(first[at("phone")].as_deref(), Some("+3240000000"));
    assert_eq!(first[at("postal_code")].as_deref(), Some("4000"));
    assert!(first[at("updated_at")].as_deref().unwrap().ends_with('Z'));

    let products = EntitySource {
        table: Some("products".into()),
        ..Default::default()
    };
    let mut sample = Sample {
        limit: 10,
        ..Default::default()
    };
    c.read(&products, &mut sample).unwrap();
    let schema = sample.schema.unwrap();
    let row = &sample.rows[1].1;
    assert_eq!(
        row[schema.index("code").unwrap()].as_deref(),
        Some("A00001")
    );
    let price = row[schema.index("list_price").unwrap()].clone().unwrap();
    assert_eq!(
        price.parse::<f64>().unwrap(),
        11.5,
        "a Decimal read as its digits: {price}"
    );
    assert_eq!(
        row[schema.index("active").unwrap()].as_deref(),
        Some("true"),
        "booleans read as true/false, not 0/1"
    );
    // A product update: the price, as a Decimal, conditional on the pulled one.
    let id = vec![("id".to_string(), row[0].clone())];
    let out = c
        .write(
            &products,
            &WriteChange {
                kind: WriteKind::Update,
                id: id.clone(),
                values: vec![("list_price".into(), Some("12.25".into()))],
                expected: vec![("list_price".into(), Some(price.clone()))],
            },
        )
        .unwrap();
    assert!(matches!(out, WriteOutcome::Applied { .. }), "{out:?}");
    let now = c.read_one(&products, &id).unwrap().unwrap();
    let now_price = now
        .iter()
        .find(|(n, _)| n == "list_price")
        .unwrap()
        .1
        .clone()
        .unwrap();
    assert_eq!(now_price.parse::<f64>().unwrap(), 12.25, "{now:?}");

    // A party update whose expected value moved: a conflict, nothing written.
    let src = parties_source();
    let id = vec![("code".to_string(), Some("P00007".to_string()))];
    server.clear_audit();
    let out = c
        .write(
            &src,
            &WriteChange {
                kind: WriteKind::Update,
                id: id.clone(),
                values: vec![("email".into(), Some("x@y.org".into()))],
                expected: vec![("email".into(), Some("old@y.org".into()))],
            },
        )
        .unwrap();
    assert_eq!(
        out,
        WriteOutcome::Conflict {
            current: vec![("email".into(), Some("p7@example.com".into()))]
        }
    );
    assert!(server.audit().is_empty(), "nothing written");
    // Deletes are conditional too.
    let out = c
        .write(
            &src,
            &WriteChange {
                kind: WriteKind::Delete,
                id: id.clone(),
                values: vec![],
                expected: vec![("name".into(), Some("Party 7".into()))],
            },
        )
        .unwrap();
    assert!(matches!(out, WriteOutcome::Applied { .. }), "{out:?}");
    assert_eq!(c.read_one(&src, &id).unwrap(), None, "deleted");
    let out = c
        .write(
            &src,
            &WriteChange {
                kind: WriteKind::Update,
                id: id.clone(),
                values: vec![("name".into(), Some("Ghost".into()))],
                expected: vec![("name".into(), Some("Party 7".into()))],
            },
        )
        .unwrap();
    assert_eq!(out, WriteOutcome::NotFound);
    // A create whose code exists already with other values is never a second party.
    let out = c
        .write(
            &src,
            &WriteChange {
                kind: WriteKind::Insert,
                id: vec![("code".into(), Some("P00008".into()))],
                values: vec![("name".into(), Some("Someone else".into()))],
                expected: vec![],
            },
        )
        .unwrap();
    assert!(matches!(out, WriteOutcome::Conflict { .. }), "{out:?}");
    // A country: written as its id, read back as its code (countries are
    // not loaded in the template: one is made here).
    server.rpc(
        "model.country.country.create",
        json!([[{"name": "Belgium", "code": "BE"}], {}]),
    );
    let id9 = vec![("code".to_string(), Some("P00009".to_string()))];
    let out = c
        .write(
            &src,
            &WriteChange {
                kind: WriteKind::Update,
                id: id9.clone(),
                values: vec![("country".into(), Some("BE".into()))],
                expected: vec![("country".into(), None)],
            },
        )
        .unwrap();
    assert!(matches!(out, WriteOutcome::Applied { .. }), "{out:?}");
    let now = c.read_one(&src, &id9).unwrap().unwrap();
    assert!(
        now.contains(&("country".into(), Some("BE".into()))),
        "{now:?}"
    );
}

#[test]
fn failures_are_categorised_with_trytons_message() {
    let Some(mut server) = tryton::server() else {
        return;
    };
    server.seed_parties(2);
    let src = parties_source();

    let mut c = connector(&server, "wrong-Pw-5b1e");
    let err = c.check().unwrap_err();
    assert_eq!(err.code(), ErrorCode::Auth, "{err}");
    let msg = err.to_string();
    assert!(msg.contains("could not log in"), "{msg}");
    assert!(
        !msg.contains("wrong-Pw-5b1e"),
        "the password never shows: {msg}"
    );

    let mut c = TrytonSystem::new(
        "erp".into(),
        RpcConfig {
            url: server.url(),
            database: "nosuchdb".into(),
            user: tryton::USER.into(),
            password: tryton::PASSWORD.into(),
            options: HttpOptions::default(),
        },
        100,
    )
    .unwrap();
    let err = c.check().unwrap_err();
    assert_eq!(err.code(), ErrorCode::NotFound, "{err}");

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut c = TrytonSystem::new(
        "erp".into(),
        RpcConfig {
            url: format!("http://127.0.0.1:{port}"),
            database: tryton::DB.into(),
            user: tryton::USER.into(),
            password: tryton::PASSWORD.into(),
            options: HttpOptions {
                max_retries: 0,
                ..Default::default()
            },
        },
        100,
    )
    .unwrap();
    let err = c.check().unwrap_err();
    assert_eq!(err.code(), ErrorCode::Network, "{err}");

    let mut c = connector(&server, tryton::PASSWORD);
    let err = c
        .read(
            &EntitySource {
                table: Some("invoices".into()),
                ..Default::default()
            },
            &mut Sample::default(),
        )
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::NotFound, "{err}");

    // Tryton's own refusals, with its message: a code set by its sequence
    // may not change (an access error), codes are unique; an unknown
    // country is refused before anything is sent.
    let err = c
        .write(
            &src,
            &WriteChange {
                kind: WriteKind::Update,
                id: vec![("code".into(), Some("P00000".into()))],
                values: vec![("code".into(), Some("P00001".into()))],
                expected: vec![],
            },
        )
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::Permission, "{err}");
    assert!(
        err.to_string()
            .starts_with("system \"erp\": permission error")
            && err
                .to_string()
                .contains("not allowed to modify the field \"Code\""),
        "Tryton's message: {err}"
    );
    let err = c
        .write(
            &src,
            &WriteChange {
                kind: WriteKind::Update,
                id: vec![("code".into(), Some("P00000".into()))],
                values: vec![("country".into(), Some("XX".into()))],
                expected: vec![],
            },
        )
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::Validation, "{err}");
    assert!(
        err.to_string().contains("country \"XX\""),
        "names the value: {err}"
    );
    let err = c
        .write(
            &src,
            &WriteChange {
                kind: WriteKind::Insert,
                id: vec![],
                values: vec![
                    ("code".into(), Some("P00001".into())),
                    ("name".into(), Some("Twin".into())),
                ],
                expected: vec![],
            },
        )
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::Validation, "{err}");
    assert!(
        err.to_string().contains("must be unique"),
        "Tryton's message: {err}"
    );

    // An expired session is renewed once, transparently.
    server.expire_sessions();
    let mut sample = Sample {
        limit: 10,
        ..Default::default()
    };
    c.read(&src, &mut sample)
        .expect("the session is renewed after a 401");
    assert_eq!(
        sample.rows.len(),
        3,
        "the company's party and the two seeded"
    );
}

/// A proxy in front of the server that, on the first request calling
/// `method`, runs `meanwhile` (another user's edit) before passing the
/// request on: a change that lands between the connector's read and its
/// write.
struct Meddler {
    url: String,
}

impl Meddler {
    fn start(
        server: &tryton::TrytonServer,
        method: &'static str,
        meanwhile: impl FnOnce() + Send + 'static,
    ) -> Meddler {
        use std::io::{BufRead, BufReader, Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let upstream = server.url();
        std::thread::spawn(move || {
            let http = reqwest::blocking::Client::new();
            let mut meanwhile = Some(meanwhile);
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut request_line = String::new();
                reader.read_line(&mut request_line).unwrap();
                let path = request_line.split(' ').nth(1).unwrap_or("/").to_string();
                let (mut len, mut auth) = (0usize, None);
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                    let lower = line.to_ascii_lowercase();
                    if let Some(v) = lower.strip_prefix("content-length:") {
                        len = v.trim().parse().unwrap();
                    }
                    if lower.starts_with("authorization:") {
                        auth = Some(line["authorization:".len()..].trim().to_string());
                    }
                }
                let mut body = vec![0u8; len];
                reader.read_exact(&mut body).unwrap();
                let rpc: serde_json::Value = serde_json::from_slice(&body).unwrap();
                if rpc["method"] == method
                    && let Some(edit) = meanwhile.take()
                {
                    edit();
                }
                let mut req = http
                    .post(format!("{upstream}{path}"))
                    .header("Content-Type", "application/json")
                    .body(body);
                if let Some(a) = auth {
                    req = req.header("Authorization", a);
                }
                let resp = req.send().unwrap();
                let status = resp.status().as_u16();
                let answer = resp.bytes().unwrap();
                let head = format!(
                    "HTTP/1.1 {status} X\r\nconnection: close\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
                    answer.len()
                );
                let _ = stream.write_all(head.as_bytes());
                let _ = stream.write_all(&answer);
            }
        });
        Meddler { url }
    }
}

fn through(meddler: &Meddler) -> TrytonSystem {
    TrytonSystem::new(
        "erp".into(),
        RpcConfig {
            url: meddler.url.clone(),
            database: tryton::DB.into(),
            user: tryton::USER.into(),
            password: tryton::PASSWORD.into(),
            options: HttpOptions::default(),
        },
        100,
    )
    .unwrap()
}

#[test]
fn a_change_between_the_connectors_read_and_write_is_caught_by_the_timestamp() {
    let Some(mut server) = tryton::server() else {
        return;
    };
    server.seed_parties(3);
    let src = parties_source();
    let email_change = |code: &str| WriteChange {
        kind: WriteKind::Update,
        id: vec![("code".into(), Some(code.into()))],
        values: vec![("email".into(), Some("ours@example.com".into()))],
        expected: vec![("email".into(), Some(format!("p{}@example.com", &code[5..])))],
    };

    // Their edit touches our field: Tryton refuses our write, the re-read
    // shows their value, and the outcome is a conflict with nothing written.
    let mut admin = tryton::Admin::new(&server);
    let cm: i64 = admin.rpc(
        "model.party.contact_mechanism.search",
        json!([
            [["party.code", "=", "P00001"], ["type", "=", "email"]],
            0,
            1,
            null,
            {}
        ]),
    )[0]
    .as_i64()
    .unwrap();
    server.clear_audit();
    let meddler = Meddler::start(&server, "model.party.party.write", move || {
        admin.rpc(
            "model.party.contact_mechanism.write",
            json!([[cm], {"value": "theirs@example.com"}, {}]),
        );
    });
    let out = through(&meddler)
        .write(&src, &email_change("P00001"))
        .unwrap();
    assert_eq!(
        out,
        WriteOutcome::Conflict {
            current: vec![("email".into(), Some("theirs@example.com".into()))]
        },
        "their change came after our read and before our write"
    );
    assert_eq!(
        server.party("P00001").unwrap()["email"],
        "theirs@example.com"
    );
    let audit = server.audit();
    assert_eq!(audit.len(), 1, "only their write: {audit:?}");

    // Their edit touches another field: refused once, then (our field still
    // as pulled) read, compared and written again: applied, theirs kept.
    let mut admin = tryton::Admin::new(&server);
    let p2 = server.party("P00002").unwrap()["id"].clone();
    server.clear_audit();
    let meddler = Meddler::start(&server, "model.party.party.write", move || {
        admin.rpc(
            "model.party.party.write",
            json!([[p2], {"name": "Their name"}, {}]),
        );
    });
    let out = through(&meddler)
        .write(&src, &email_change("P00002"))
        .unwrap();
    assert!(matches!(out, WriteOutcome::Applied { .. }), "{out:?}");
    let p = server.party("P00002").unwrap();
    assert_eq!(
        (p["name"].as_str(), p["email"].as_str()),
        (Some("Their name"), Some("ours@example.com"))
    );
    let ours: Vec<_> = server
        .audit()
        .into_iter()
        .filter(|(tbl, _, _, _, _)| tbl == "cm")
        .collect();
    assert_eq!(ours.len(), 1, "our e-mail written once: {ours:?}");
}

fn push_cmd(t: &Setup, args: &[&str]) -> Command {
    let mut c = t.command(args);
    c.stdout(Stdio::null()).stderr(Stdio::piped());
    c
}

#[test]
fn killed_pushes_resume_to_exactly_one_effect_per_change() {
    const N: usize = 60;
    let mut left = String::from("code,name,email,city\n");
    let mut expected = BTreeMap::new();
    for i in 0..N {
        // Every seeded party gets a new name and e-mail.
        let (name, email) = (format!("Renamed {i}"), format!("r{i}@new.example.com"));
        left.push_str(&format!("P{i:05},{name},{email},Liège\n"));
        expected.insert(format!("P{i:05}"), (name, email));
    }
    for i in 0..20 {
        let (name, email) = (format!("Created {i}"), format!("c{i}@new.example.com"));
        left.push_str(&format!("N{i:05},{name},{email},Liège\n"));
        expected.insert(format!("N{i:05}"), (name, email));
    }
    let Some(mut t) = setup(N, &left) else {
        return;
    };
    t.ok(&["reconcile", "--pull", "c"]);
    t.ok(&["approve", "c", "--all", "--kind", "create,update"]);
    let mut rng = fastrand::Rng::with_seed(
        std::env::var("TRUEUP_CRASH_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| fastrand::u64(..)),
    );
    let mut kills = 0;
    // Kills that left the push half done (some entries applied, some open).
    let mut partial = 0;
    let deadline = Instant::now() + Duration::from_secs(240);
    loop {
        assert!(Instant::now() < deadline, "no progress in 240 s");
        let batch = rng.usize(1..9).to_string();
        let mut args = vec!["push", "c", "--batch-size", &batch];
        if kills > 0 {
            args.push("--resume");
        }
        let mut child = push_cmd(&t, &args).spawn().unwrap();
        // The first kills land where the push is half done (some entries
        // applied, some open: watched in the journal), the next ones at a
        // random time (anywhere: before the journal, mid-batch, ...).
        let kill_after = Duration::from_millis(rng.u64(150..600 + 150 * kills));
        let mid_push_kill = partial < 3;
        let started = Instant::now();
        let mut finished = None;
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                finished = Some(status);
                break;
            }
            if mid_push_kill {
                let journal = journal_states(&t);
                let applied = journal.iter().filter(|s| *s == "applied").count();
                if applied > 0 && applied < journal.len() && rng.bool() {
                    break;
                }
            } else if started.elapsed() >= kill_after {
                break;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        match finished {
            Some(_) => {
                let out = child.wait_with_output().unwrap();
                let journal = journal_states(&t);
                if journal.iter().all(|s| s == "applied") {
                    break;
                }
                assert!(
                    journal
                        .iter()
                        .all(|s| s == "applied" || s == "pending" || s == "sending"),
                    "only finished or open entries: {journal:?} {}",
                    String::from_utf8_lossy(&out.stderr)
                );
            }
            None => {
                child.kill().unwrap();
                child.wait().unwrap();
                kills += 1;
                let journal = journal_states(&t);
                if journal.iter().any(|s| s == "applied") && journal.iter().any(|s| s != "applied")
                {
                    partial += 1;
                }
            }
        }
    }
    eprintln!("{kills} kills, {partial} with the push half done");
    assert!(
        partial >= 3,
        "kills landed in the middle of a push ({kills} kills)"
    );
    let parties = t.parties();
    for (code, (name, email)) in &expected {
        let got = &parties[code];
        assert_eq!(
            (&got.0, &got.1),
            (name, email),
            "{code} after {kills} kills"
        );
    }
    // Exactly one effect per change: one name write (or insert) per party,
    // one e-mail write per updated party.
    let mut effects: BTreeMap<(String, String, i64), usize> = BTreeMap::new();
    for (tbl, op, rec, code, _) in t.server.audit() {
        // The party's code, or the contact mechanism's type.
        let what = code.unwrap_or_default();
        *effects
            .entry((format!("{tbl}/{op}"), what, rec))
            .or_default() += 1;
    }
    let twice: Vec<_> = effects.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        twice.is_empty(),
        "nothing applied twice after {kills} kills: {twice:?}"
    );
    let count = |k: &str| effects.keys().filter(|(op, _, _)| op == k).count();
    assert_eq!(count("party/update"), N, "one name write per updated party");
    assert_eq!(count("party/insert"), 20, "one insert per new party");
    assert_eq!(count("cm/update"), N, "one e-mail write per updated party");
    assert_eq!(count("cm/insert"), 20, "one e-mail per new party");
}

fn journal_states(t: &Setup) -> Vec<String> {
    let path = t.ws.path().join("trueup.db");
    if !path.exists() {
        return vec![];
    }
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.busy_timeout(Duration::from_secs(10)).unwrap();
    let mut stmt = conn
        .prepare("SELECT state FROM journal ORDER BY id")
        .unwrap();
    stmt.query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}
