#!/usr/bin/env bash
# Installs a Vendure e-commerce server (@vendure/core on SQLite through
# better-sqlite3) under ${TRUEUP_DEPS_DIR:-$HOME/.cache/trueup-deps}/vendure,
# with a server script driven by environment variables, and a template
# database (schema created once) that tests copy. Idempotent: quick when
# already installed. Needs Node 18+ and npm (Node 20 tried here); the node
# that runs the server must be the one npm built better-sqlite3 for: set
# TRUEUP_NODE to its path for both this script and the tests (default:
# `node` on the PATH).
#
# Start a server:  PORT=3999 VENDURE_DB=/tmp/x.sqlite node $DIR/server.js
# (VENDURE_SUPERADMIN / VENDURE_SUPERADMIN_PASSWORD set the admin login,
# default superadmin/superadmin; ready when it prints "VENDURE READY").
set -euo pipefail

DEPS="${TRUEUP_DEPS_DIR:-$HOME/.cache/trueup-deps}"
DIR="$DEPS/vendure"
VERSION="${VENDURE_VERSION:-3.7.3}"

# The template's admin password is the tests' (tests/support/shop_server.rs):
# Vendure sets it when it creates the database and never changes it after.
ADMIN_PASSWORD="trueup-shop-admin"
MARK="$DIR/.installed-$VERSION-admin-template"

if [ -f "$MARK" ] && [ -f "$DIR/template.sqlite" ]; then
  echo "$DIR"
  exit 0
fi

NODE="${TRUEUP_NODE:-node}"
command -v "$NODE" >/dev/null || { echo "setup-vendure: node is needed" >&2; exit 1; }
if [ -n "${TRUEUP_NODE:-}" ]; then export PATH="$(dirname "$(command -v "$NODE")"):$PATH"; fi
mkdir -p "$DIR"
cd "$DIR"
[ -f package.json ] || echo '{"name":"trueup-vendure","private":true}' > package.json
npm install --no-audit --no-fund --loglevel=error \
  "@vendure/core@$VERSION" "better-sqlite3@12" >&2

cat > server.js <<'JS'
// A Vendure server for Trueup's tests: SQLite file from VENDURE_DB, port
// from PORT, the admin login from VENDURE_SUPERADMIN(_PASSWORD).
process.env.VENDURE_DISABLE_TELEMETRY = 'true';
const { bootstrap } = require('@vendure/core');
const port = Number(process.env.PORT || 3999);
bootstrap({
  apiOptions: { port, hostname: '127.0.0.1', adminApiPath: 'admin-api', shopApiPath: 'shop-api' },
  authOptions: {
    tokenMethod: ['bearer', 'cookie'],
    cookieOptions: { secret: 'trueup-test-cookie-secret' },
    superadminCredentials: {
      identifier: process.env.VENDURE_SUPERADMIN || 'superadmin',
      password: process.env.VENDURE_SUPERADMIN_PASSWORD || 'superadmin',
    },
  },
  dbConnectionOptions: {
    type: 'better-sqlite3',
    synchronize: process.env.VENDURE_SYNC !== 'false',
    logging: false,
    database: process.env.VENDURE_DB || 'vendure.sqlite',
  },
  paymentOptions: { paymentMethodHandlers: [] },
  plugins: [],
})
  .then(() => console.log('VENDURE READY on ' + port))
  .catch((e) => { console.error('VENDURE FAILED', e); process.exit(1); });
JS

# The template database: schema and initial data created once.
rm -f template.sqlite
PORT="${VENDURE_SETUP_PORT:-39871}" VENDURE_DB="$DIR/template.sqlite" VENDURE_SUPERADMIN=superadmin \
  VENDURE_SUPERADMIN_PASSWORD="$ADMIN_PASSWORD" "$NODE" server.js > setup.log 2>&1 &
pid=$!
for _ in $(seq 1 240); do
  if grep -q "VENDURE READY" setup.log; then break; fi
  if ! kill -0 "$pid" 2>/dev/null; then cat setup.log >&2; exit 1; fi
  sleep 0.5
done
kill "$pid"; wait "$pid" 2>/dev/null || true
grep -q "VENDURE READY" setup.log || { cat setup.log >&2; exit 1; }
touch "$MARK"
echo "$DIR"
