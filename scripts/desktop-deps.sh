#!/usr/bin/env bash
# Installs what the desktop shell needs to build and to be tested on Debian 12:
# the WebKitGTK/GTK development packages, Xvfb and WebKitWebDriver, sqlite3 (the
# journey edits the demo CRM), dbus + gnome-keyring (the keychain test), the UI's
# npm packages (npm ci), and tauri-driver. Idempotent: skips what is present.
set -euo pipefail
cd "$(dirname "$0")/.."

PKGS=(libwebkit2gtk-4.1-dev libgtk-3-dev librsvg2-dev libayatana-appindicator3-dev
      libsoup-3.0-dev libjavascriptcoregtk-4.1-dev xvfb xauth webkit2gtk-driver
      build-essential pkg-config file sqlite3 dbus gnome-keyring)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

if ! command -v npm >/dev/null; then
  echo "desktop-deps: npm (Node.js 20+) is required; install it with: apt-get install nodejs npm" >&2
  exit 1
fi
# npm ci only when the lock file changed since the last install.
if [ ! -f ui/node_modules/.package-lock.json ] || [ ui/package-lock.json -nt ui/node_modules/.package-lock.json ]; then
  (cd ui && npm ci --no-audit --no-fund --loglevel=error)
fi

export PATH="$HOME/.cargo/bin:$PATH"
if ! tauri-driver --help 2>/dev/null | grep -q . || [ "$(cargo install --list | grep -c '^tauri-driver v2.1.0')" = 0 ]; then
  cargo install tauri-driver --locked --version 2.1.0
fi
echo "desktop-deps: ready"
