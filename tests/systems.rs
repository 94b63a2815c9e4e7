//! Managing systems through the core, as the desktop app does: add an HTTP
//! system with its secret, test it (connection and one sample record) with a
//! typed secret, edit a REST entity as TOML, rename and delete systems. The
//! configuration keeps its comments; a secret appears in no file, no error.

mod support;

#[path = "support/http_server.rs"]
mod http_server;

use http_server::ApiServer;
use trueup::Workspace;
use trueup::config::{SecretRef, SystemConfig};
use trueup::connectors::http::{AuthConfig, HttpOptions};
use trueup::connectors::rest::RestSystemConfig;

const TOKEN: &str = "canary-sys-tok-41d7e9";

fn rest(url: &str, token: SecretRef) -> SystemConfig {
    SystemConfig::Rest(RestSystemConfig {
        base_url: url.into(),
        auth: AuthConfig::Bearer { token },
        http: HttpOptions {
            max_retries: 0,
            timeout_secs: 5,
            ..Default::default()
        },
        check: Some("/items".into()),
        errors_at: None,
    })
}

const ITEMS: &str = r#"# The API's items.
id = ["code"]

[rest]
list = "/items"
records = "data"
record = "data"
id_field = "id"
get = "/items/{id}"
find = { code = "{code}" }
"#;

fn leaks(dir: &std::path::Path, needle: &str) -> Vec<String> {
    support::snapshot_files(dir)
        .into_iter()
        .filter(|(_, b)| String::from_utf8_lossy(b).contains(needle))
        .map(|(p, _)| p.display().to_string())
        .collect()
}

#[test]
fn an_http_system_is_added_tested_with_a_sample_and_its_secret_stays_out_of_files() {
    let api = ApiServer::start();
    api.seed(&[("C1", "Ann Lee", "ann@example.com")]);
    api.require_bearer(TOKEN);
    let dir = tempfile::tempdir().unwrap();
    let mut ws = Workspace::init(dir.path()).unwrap();
    let before = std::fs::read_to_string(dir.path().join("trueup.toml")).unwrap();

    // Test before saving, with the token typed: reached, no entity yet.
    let unsaved = rest(&api.url, SecretRef::Keychain(String::new()));
    let check = ws
        .check_system_config("api", &unsaved, Some(TOKEN.into()))
        .unwrap();
    assert!(check.info.description.contains("200"), "{:?}", check.info);
    assert!(check.sample.is_none());
    // A wrong token: an auth error with the server's answer, no secret in it.
    let err = ws
        .check_system_config("api", &unsaved, Some("canary-wrong-77".into()))
        .unwrap_err();
    assert_eq!(err.code(), trueup::ErrorCode::Auth, "{err}");
    assert!(!err.to_string().contains("canary"), "{err}");

    // Saving with the token typed needs the keychain; this build has none
    // (the core's tests run without the `keychain` feature): refused,
    // saying so and naming the alternative, nothing written.
    let err = ws
        .set_system_with_secret("api", unsaved.clone(), Some(TOKEN))
        .unwrap_err()
        .to_string();
    assert!(err.contains("keychain is not available"), "{err}");
    assert!(err.contains("env"), "the alternative is named: {err}");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("trueup.toml")).unwrap(),
        before
    );
    // Without a secret and without a source: refused with the field named.
    let err = ws
        .set_system_with_secret("api", unsaved.clone(), None)
        .unwrap_err()
        .to_string();
    assert!(err.contains("systems.api.auth.token"), "{err}");

    // With an environment variable instead.
    let env = rest(&api.url, SecretRef::Env("API_TOKEN".into()));
    ws.set_system_with_secret("api", env.clone(), None).unwrap();
    let text = std::fs::read_to_string(dir.path().join("trueup.toml")).unwrap();
    assert!(
        text.starts_with("# Trueup workspace."),
        "the header comment stays: {text}"
    );
    assert!(
        text.contains("\nauth = { type = \"bearer\", token = { env = \"API_TOKEN\" } }\n"),
        "a new system's small tables are written inline: {text}"
    );

    // An entity as TOML: errors name the line and column.
    let err = ws
        .set_entity_toml("items", "api", "id = [\"code\"]\n[rest]\nlist = \n")
        .unwrap_err()
        .to_string();
    assert!(err.contains("entities.items: line 3, column"), "{err}");
    let err = ws
        .set_entity_toml("items", "api", &ITEMS.replace("records =", "recrods ="))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("line 6, column 1") && err.contains("recrods"),
        "{err}"
    );
    let err = ws
        .set_entity_toml("items", "api", &ITEMS.replace("find = ", "# find = "))
        .unwrap_err()
        .to_string();
    assert!(err.contains("entities.items.rest.find"), "{err}");
    ws.set_entity_toml("items", "api", ITEMS).unwrap();
    let text = std::fs::read_to_string(dir.path().join("trueup.toml")).unwrap();
    assert!(
        text.contains("[entities.items.rest]\n")
            && text.contains("\nfind = { code = \"{code}\" }\n"),
        "the entity's tables as typed: {text}"
    );
    assert!(
        text.contains("# The API's items.\nid = [\"code\"]"),
        "the entity is written as typed, its comments too: {text}"
    );
    let toml = ws.entity_toml("items").unwrap();
    assert!(
        toml.starts_with("# The API's items.\nid = [\"code\"]")
            && toml.contains("[rest]\nlist = \"/items\""),
        "read back for editing as written: {toml}"
    );
    // Edited again: the other entries of the file stay as they were.
    ws.set_entity_toml(
        "items",
        "api",
        &toml.replace("records = \"data\"", "records = \"data\"  # the list"),
    )
    .unwrap();
    let again = std::fs::read_to_string(dir.path().join("trueup.toml")).unwrap();
    assert!(again.contains("records = \"data\"  # the list"), "{again}");
    assert!(again.starts_with("# Trueup workspace."), "{again}");

    // The test now shows one sample record, as `trueup systems test` does.
    let check = ws
        .check_system_config("api", &env, Some(TOKEN.into()))
        .unwrap();
    let sample = check.sample.expect("a sample record");
    assert_eq!(sample.entity, "items");
    assert!(
        sample
            .fields
            .contains(&("name".to_string(), Some("Ann Lee".to_string()))),
        "{sample:?}"
    );
    assert!(
        leaks(dir.path(), "canary").is_empty(),
        "{:?}",
        leaks(dir.path(), "canary")
    );
}

#[test]
fn systems_are_renamed_and_deleted_with_their_entities_in_view() {
    let dir = tempfile::tempdir().unwrap();
    let mut ws = Workspace::init_demo(dir.path()).unwrap();
    let path = dir.path().join("trueup.toml");
    // A comment of the person's own, next to the ERP system.
    let text = std::fs::read_to_string(&path).unwrap().replacen(
        "[systems.erp]",
        "# Nightly export; ask Anna.\n[systems.erp]",
        1,
    );
    std::fs::write(&path, &text).unwrap();
    let mut ws_reopened = Workspace::open(dir.path()).unwrap();
    std::mem::swap(&mut ws, &mut ws_reopened);

    let using: Vec<String> = ws
        .config
        .entities
        .iter()
        .filter(|(_, e)| e.system == "erp")
        .map(|(n, _)| n.clone())
        .collect();
    assert!(!using.is_empty());
    ws.rename_system("erp", "erp_main").unwrap();
    let renamed = std::fs::read_to_string(&path).unwrap();
    assert!(
        renamed.contains("# Nightly export; ask Anna.\n[systems.erp_main]"),
        "{renamed}"
    );
    let reopened = Workspace::open(dir.path()).unwrap();
    for e in &using {
        assert_eq!(reopened.entity(e).unwrap().system, "erp_main");
    }
    assert!(reopened.system("erp").is_err());

    // Renaming onto an existing name or with a bad name: refused.
    let other = ws
        .config
        .systems
        .keys()
        .find(|n| *n != "erp_main")
        .unwrap()
        .clone();
    assert!(ws.rename_system("erp_main", &other).is_err());
    assert!(ws.rename_system("erp_main", "bad name").is_err());

    // Delete refused while entities use it, naming them.
    let err = ws.delete_system("erp_main").unwrap_err().to_string();
    for e in &using {
        assert!(err.contains(e.as_str()), "{err}");
    }
    assert!(ws.system("erp_main").is_ok());

    // An unused system is deleted; the rest of the file stays as written.
    ws.set_system(
        "spare",
        SystemConfig::Sqlite {
            path: "data/spare.sqlite".into(),
        },
    )
    .unwrap();
    ws.delete_system("spare").unwrap();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), renamed);
    assert!(
        Workspace::open(dir.path())
            .unwrap()
            .system("spare")
            .is_err()
    );
}
