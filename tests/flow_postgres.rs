//! The whole flow with a real PostgreSQL server as the source system, and
//! the secrets canary with a real password and a real wrong password.

#[path = "support/pg.rs"]
mod pg;
mod support;

use support::{TempWorkspace, fails, ok, stderr, stdout};

fn workspace(port: u16, database: &str, password_var: &str) -> TempWorkspace {
    let config = format!(
        r#"
[systems.erp]
kind = "postgres"
host = "127.0.0.1"
port = {port}
user = "{user}"
database = "{database}"
password = {{ env = "{password_var}" }}

[systems.crm]
kind = "csv"
path = "crm.csv"

[entities.customers]
system = "erp"
table = "customers"
id = ["id"]

[entities.contacts]
system = "crm"
id = ["Contact"]

[reconciliations.c]
left = "customers"
right = "contacts"
key = ["No"]

[[reconciliations.c.fields]]
target = "No"
source = "customer_no"

[[reconciliations.c.fields]]
target = "Name"
source = "name"

[[reconciliations.c.fields]]
target = "Balance"
source = "balance"
compare = {{ numeric = 0.001 }}
"#,
        user = pg::USER
    );
    TempWorkspace::new(
        &config,
        &[(
            "crm.csv",
            "Contact,No,Name,Balance\n1,C1,Ann,10\n2,C2,Bob,20.5\n3,C9,Zed,0\n",
        )],
    )
}

fn run_with(ws: &TempWorkspace, var: &str, password: &str, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_trueup"))
        .arg("-w")
        .arg(ws.path())
        .args(args)
        .env(var, password)
        .output()
        .unwrap()
}

#[test]
fn postgres_source_reconciles_and_reconciles_again_after_a_change() {
    let Some(server) = pg::server() else { return };
    let db = server.database("flow");
    let mut client = server.client(&db);
    client
        .batch_execute(
            "CREATE TABLE customers (id serial PRIMARY KEY, customer_no text, name text, balance numeric(10,2));
             INSERT INTO customers (customer_no, name, balance) VALUES ('C1', 'Ann', 10.00), ('C2', 'Robert', 20.50), ('C3', 'Cy', 5);",
        )
        .unwrap();
    let ws = workspace(server.port, &db.database, "TEST_PG_PW_FLOW");
    let out = run_with(
        &ws,
        "TEST_PG_PW_FLOW",
        pg::PASSWORD,
        &["--json", "reconcile", "--pull", "c"],
    );
    let text = stdout(&out);
    assert!(out.status.success(), "{text} {}", stderr(&out));
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let counts = &v[0]["counts"];
    assert_eq!(
        counts["in_sync"], 1,
        "C1: numeric 10.00 equals 10: {counts}"
    );
    assert_eq!(counts["update"], 1, "C2: name differs: {counts}");
    assert_eq!(counts["create"], 1, "C3 only in the ERP: {counts}");
    assert_eq!(counts["orphan"], 1, "C9 only in the CRM: {counts}");
    // A change in PostgreSQL shows at the next pull as exactly one changed record.
    client
        .batch_execute("UPDATE customers SET name = 'Anna' WHERE customer_no = 'C1'")
        .unwrap();
    let out = run_with(
        &ws,
        "TEST_PG_PW_FLOW",
        pg::PASSWORD,
        &["--json", "pull", "customers"],
    );
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v[0]["changed"], 1, "{v}");
    assert_eq!(v[0]["added"], 0);
    let out = run_with(
        &ws,
        "TEST_PG_PW_FLOW",
        pg::PASSWORD,
        &["--json", "reconcile", "c"],
    );
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v[0]["counts"]["update"], 2, "C1 now differs too: {v}");
    assert!(!stdout(&out).contains(pg::PASSWORD));
}

#[test]
fn wrong_password_is_an_auth_error_that_never_shows_the_password_and_changes_nothing() {
    let Some(server) = pg::server() else { return };
    let db = server.database("authfail");
    let mut client = server.client(&db);
    client
        .batch_execute("CREATE TABLE customers (id serial PRIMARY KEY, customer_no text, name text, balance numeric);")
        .unwrap();
    let ws = workspace(server.port, &db.database, "TEST_PG_PW_BAD");
    ok(run_with(
        &ws,
        "TEST_PG_PW_BAD",
        pg::PASSWORD,
        &["pull", "customers"],
    ));
    let wrong = "wrong-canary-93ab1";
    let out = run_with(&ws, "TEST_PG_PW_BAD", wrong, &["pull", "customers"]);
    let err = fails(out);
    assert!(err.contains("[auth]"), "classified as auth: {err}");
    assert!(err.contains("erp"), "names the system: {err}");
    assert!(
        !err.contains(wrong) && !err.contains(pg::PASSWORD),
        "no password in: {err}"
    );
    // Test connection says the same.
    let err = fails(run_with(
        &ws,
        "TEST_PG_PW_BAD",
        wrong,
        &["systems", "test", "erp"],
    ));
    assert!(err.contains("[auth]") && !err.contains(wrong), "{err}");
    // Unset variable: says which variable, not a value.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_trueup"))
        .arg("-w")
        .arg(ws.path())
        .args(["pull", "customers"])
        .env_remove("TEST_PG_PW_BAD")
        .output()
        .unwrap();
    let err = fails(out);
    assert!(
        err.contains("TEST_PG_PW_BAD") && err.contains("not set"),
        "{err}"
    );
    for (path, bytes) in support::snapshot_files(ws.path()) {
        let hay = String::from_utf8_lossy(&bytes);
        assert!(
            !hay.contains(wrong) && !hay.contains(pg::PASSWORD),
            "{} holds a password",
            path.display()
        );
    }
}

#[test]
fn unreachable_server_is_a_network_error() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let ws = workspace(port, "nothing", "TEST_PG_PW_NET");
    let err = fails(run_with(&ws, "TEST_PG_PW_NET", "x", &["pull", "customers"]));
    assert!(err.contains("[network]"), "{err}");
    assert!(
        err.contains(&port.to_string()) || err.contains("127.0.0.1"),
        "names where: {err}"
    );
}
