#!/usr/bin/env bash
# Installs @stoplight/prism-cli (OpenAPI mock and validating proxy) under
# ${TRUEUP_DEPS_DIR:-$HOME/.cache/trueup-deps}/prism, for the HubSpot preset
# test (tests/hubspot_prism.rs). Idempotent: quick when already installed.
# Prints the path of the prism binary on its last line.
set -euo pipefail

DEPS="${TRUEUP_DEPS_DIR:-$HOME/.cache/trueup-deps}"
DIR="$DEPS/prism"
VERSION="${PRISM_VERSION:-5.16.0}"
BIN="$DIR/node_modules/.bin/prism"

if [ -x "$BIN" ] && [ -f "$DIR/.installed-$VERSION" ]; then
  echo "$BIN"
  exit 0
fi

command -v npm >/dev/null || { echo "setup-prism: npm is needed" >&2; exit 1; }
mkdir -p "$DIR"
cd "$DIR"
[ -f package.json ] || echo '{"name":"trueup-prism","private":true}' > package.json
npm install --no-audit --no-fund --loglevel=error "@stoplight/prism-cli@$VERSION" >&2
"$BIN" --version >&2
touch "$DIR/.installed-$VERSION"
echo "$BIN"
