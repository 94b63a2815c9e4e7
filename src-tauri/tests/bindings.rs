//! The committed TypeScript bindings match the Rust types.

use std::path::Path;

#[test]
fn bindings_are_current() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(trueup_desktop::bindings::BINDINGS_PATH);
    let fresh = trueup_desktop::bindings::typescript();
    if std::env::var_os("UPDATE_BINDINGS").is_some() {
        std::fs::write(&path, &fresh).expect("write bindings");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == fresh,
        "{} is out of date with src-tauri/src/json.rs; the UI would type-check against stale types. \
         Regenerate it with: UPDATE_BINDINGS=1 cargo test -p trueup-desktop --test bindings",
        path.display()
    );
}
