//! The security and bundling configuration of the shell: CSP set, no remote
//! origins, one explicit capability per window, only the app's own commands
//! and the dialogs, no shell or file-system plugin, RGBA icons from `icons/`.

use std::path::{Path, PathBuf};

use serde_json::Value;

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn conf() -> Value {
    json(&dir().join("tauri.conf.json"))
}

fn capabilities() -> Vec<(PathBuf, Value)> {
    let mut out: Vec<(PathBuf, Value)> = std::fs::read_dir(dir().join("capabilities"))
        .expect("capabilities folder")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .map(|p| {
            let v = json(&p);
            (p, v)
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// The commands declared in build.rs (the app manifest).
fn declared_commands() -> Vec<String> {
    let build = std::fs::read_to_string(dir().join("build.rs")).unwrap();
    let start = build.find("const COMMANDS").expect("COMMANDS in build.rs");
    let end = start + build[start..].find("];").unwrap();
    build[start..end]
        .lines()
        .filter_map(|l| l.trim().strip_prefix('"'))
        .map(|l| l.trim_end_matches("\",").to_string())
        .collect()
}

#[test]
fn csp_is_set_and_allows_no_remote_origin() {
    let csp = &conf()["app"]["security"]["csp"];
    assert!(
        csp.is_object(),
        "a Content Security Policy must be set (null disables it)"
    );
    assert_eq!(csp["default-src"], "'self'", "default-src must be 'self'");
    assert_eq!(
        csp["script-src"], "'self'",
        "scripts only from the bundle: no inline, no eval, no CDN"
    );
    assert_eq!(csp["object-src"], "'none'");
    for (directive, value) in csp.as_object().unwrap() {
        let value = value.as_str().unwrap();
        for token in value.split_whitespace() {
            let remote = token.starts_with("http") && token != "http://ipc.localhost";
            assert!(
                !remote
                    && token != "*"
                    && !token.starts_with("https:")
                    && !token.contains("unsafe-eval"),
                "{directive} allows {token}: the app must load nothing from the network"
            );
        }
    }
}

#[test]
fn frontend_is_bundled_and_dev_server_is_local() {
    let build = &conf()["build"];
    assert_eq!(
        build["frontendDist"], "../ui/dist",
        "the UI is served from the bundle"
    );
    let dev = build["devUrl"].as_str().unwrap_or_default();
    assert!(
        dev.starts_with("http://localhost:"),
        "the dev server is local, got {dev}"
    );
    assert_eq!(
        conf()["app"]["withGlobalTauri"],
        false,
        "no global Tauri object for injected scripts"
    );
}

#[test]
fn every_window_has_its_own_explicit_capability() {
    let windows: Vec<String> = conf()["app"]["windows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| {
            w["label"]
                .as_str()
                .expect("every window has a label")
                .to_string()
        })
        .collect();
    let caps = capabilities();
    for w in &windows {
        let n = caps
            .iter()
            .filter(|(_, c)| {
                c["windows"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|x| x == w.as_str())
            })
            .count();
        assert_eq!(n, 1, "window {w} must be granted by exactly one capability");
    }
    for (path, c) in &caps {
        let listed = c["windows"].as_array().expect("windows listed explicitly");
        assert!(
            listed
                .iter()
                .all(|x| x.as_str().is_some_and(|s| !s.contains('*'))),
            "{}: no wildcard windows",
            path.display()
        );
        assert!(
            c.get("remote").is_none(),
            "{}: no remote origins may call the app",
            path.display()
        );
        assert!(
            c.get("webviews").is_none(),
            "{}: capabilities are per window",
            path.display()
        );
    }
    let conf = conf();
    let enabled: Vec<&str> = conf["app"]["security"]["capabilities"]
        .as_array()
        .expect("the capabilities in use are listed in tauri.conf.json")
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    let ids: Vec<&str> = caps
        .iter()
        .map(|(_, c)| c["identifier"].as_str().unwrap())
        .collect();
    assert_eq!(
        enabled, ids,
        "every capability file is enabled, and only those"
    );
}

#[test]
fn permissions_are_the_app_commands_and_dialogs_only() {
    let commands = declared_commands();
    assert!(
        commands.len() >= 10,
        "build.rs declares the app's commands: {commands:?}"
    );
    let mut granted_commands = Vec::new();
    for (path, c) in capabilities() {
        for p in c["permissions"].as_array().unwrap() {
            let p = p
                .as_str()
                .expect("permissions are plain identifiers, no scoped file access");
            if let Some(cmd) = p.strip_prefix("allow-") {
                granted_commands.push(cmd.replace('-', "_"));
                continue;
            }
            let allowed = [
                "core:event:allow-listen",
                "core:event:allow-unlisten",
                "dialog:allow-open",
                "dialog:allow-message",
            ];
            assert!(
                allowed.contains(&p),
                "{}: unexpected permission {p} (no shell, fs, http or default sets)",
                path.display()
            );
        }
    }
    granted_commands.sort();
    let mut expected = commands.clone();
    expected.sort();
    assert_eq!(
        granted_commands, expected,
        "every declared command is granted, nothing else"
    );
}

#[test]
fn no_shell_or_file_system_plugin() {
    let manifest = std::fs::read_to_string(dir().join("Cargo.toml")).unwrap();
    for plugin in [
        "tauri-plugin-shell",
        "tauri-plugin-fs",
        "tauri-plugin-http",
        "tauri-plugin-opener",
    ] {
        assert!(
            !manifest.contains(plugin),
            "{plugin} must not be a dependency"
        );
    }
    let pkg = std::fs::read_to_string(dir().join("../ui/package.json")).unwrap();
    for plugin in ["plugin-shell", "plugin-fs", "plugin-http"] {
        assert!(
            !pkg.contains(plugin),
            "the UI must not use @tauri-apps/{plugin}"
        );
    }
}

#[test]
fn icons_come_from_the_repository_and_are_rgba() {
    let icons = conf()["bundle"]["icon"].as_array().unwrap().clone();
    assert!(!icons.is_empty(), "bundle icons are configured");
    for icon in icons {
        let rel = icon.as_str().unwrap();
        assert!(
            rel.starts_with("../icons/"),
            "{rel}: icons live in icons/ at the repository root"
        );
        let path = dir().join(rel);
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        if rel.ends_with(".png") {
            assert_eq!(&bytes[1..4], b"PNG", "{rel} is a PNG");
            assert_eq!(bytes[25], 6, "{rel} must be RGBA (colour type 6)");
        }
    }
    assert_eq!(
        std::fs::read(dir().join("../icons/source.png"))
            .map(|b| b[25])
            .ok(),
        Some(6),
        "the one source image the icons are generated from is RGBA"
    );
}

#[test]
fn bundle_builds_a_deb() {
    let targets = &conf()["bundle"]["targets"];
    assert_eq!(
        targets,
        &serde_json::json!(["deb"]),
        "a .deb (AppImage needs a download)"
    );
}
