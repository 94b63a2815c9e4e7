//! Without a Secret Service the keychain says so and names the alternative
//! (an environment variable); it never falls back to plain text.

#[test]
fn no_secret_service_is_said_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let nowhere = format!("unix:path={}", dir.path().join("no-bus").display());
    // SAFETY: the only test in this binary, before any keychain use.
    unsafe { std::env::set_var("DBUS_SESSION_BUS_ADDRESS", &nowhere) };
    let err = trueup::secrets::store("test-missing", "x")
        .and_then(|_| trueup::secrets::available())
        .unwrap_err();
    let text = err.to_string();
    assert!(text.contains("keychain is not available"), "{text}");
    assert!(
        text.contains("env = \"VAR\""),
        "the alternative is named: {text}"
    );
}
