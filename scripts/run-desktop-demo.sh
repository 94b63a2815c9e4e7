#!/usr/bin/env bash
# Builds the desktop app and launches it on a fresh demo workspace.
#   bash scripts/run-desktop-demo.sh [DEMO_DIR]     (default: a new temporary folder)
# Installs what is missing first (scripts/desktop-deps.sh); SKIP_DEPS=1 skips that.
set -euo pipefail
cd "$(dirname "$0")/.."

[ "${SKIP_DEPS:-}" = 1 ] || bash scripts/desktop-deps.sh
npm --prefix ui run build --silent
cargo build -p trueup-desktop
target="${CARGO_TARGET_DIR:-$PWD/target}"

demo="${1:-$(mktemp -d "${TMPDIR:-/tmp}/trueup-demo.XXXXXX")/demo-workspace}"
if [ -z "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then
  echo "run-desktop-demo: no display (DISPLAY/WAYLAND_DISPLAY unset); to try it headless: xvfb-run -a $0" >&2
  exit 1
fi
echo "run-desktop-demo: demo workspace in $demo"
exec "$target/debug/trueup-desktop" --demo "$demo"
