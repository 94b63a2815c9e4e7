#!/usr/bin/env bash
# The desktop app's tests: UI type-check and component tests (Vitest with
# mocked IPC), the shell's tests (config security, bindings drift), then the
# end-to-end journey in the real webview (tauri-driver + WebKitWebDriver under
# Xvfb). Screenshots land in ${E2E_ARTIFACTS:-ui/e2e/artifacts}.
# Installs what is missing first (scripts/desktop-deps.sh); SKIP_DEPS=1 skips that.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

[ "${SKIP_DEPS:-}" = 1 ] || bash scripts/desktop-deps.sh

echo "== ui: type-check and component tests"
npm --prefix ui run check
npm --prefix ui test

echo "== shell: build and tests"
npm --prefix ui run build --silent
cargo build -p trueup-desktop
cargo test -p trueup-desktop

echo "== end to end in the real webview"
target="${CARGO_TARGET_DIR:-$PWD/target}"
TRUEUP_APP="$target/debug/trueup-desktop" \
  xvfb-run -a -s "-screen 0 1400x960x24" node ui/e2e/journey.mjs
