#!/usr/bin/env bash
# Installs a Tryton 8.2 server (trytond + party + product) in a venv under
# ${TRUEUP_DEPS_DIR:-$HOME/.cache/trueup-deps}/tryton and builds a template
# SQLite database once. Idempotent; quick when already done.
#
# The tests (tests/support/tryton.rs) copy the template for each server they
# start, so the database is never shared between tests.
set -euo pipefail

DEPS_DIR="${TRUEUP_DEPS_DIR:-$HOME/.cache/trueup-deps}"
ROOT="$DEPS_DIR/tryton"
VENV="$ROOT/venv"
TEMPLATE_DIR="$ROOT/template"
DB_NAME="trueup"
# The versions the tests were proven against.
PACKAGES=("trytond==8.2.*" "trytond-party==8.2.*" "trytond-product==8.2.*")
STAMP="$ROOT/.installed-8.2"
# Bump when the template changes, so it is built again.
TEMPLATE_VERSION=2
# The template's admin password: a fixed test-only value (the template only
# ever serves local test servers on 127.0.0.1).
ADMIN_PASSWORD="${TRUEUP_TRYTON_ADMIN_PASSWORD:-admin}"

mkdir -p "$ROOT"

if ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
  echo "installing: python3-venv"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq python3-venv >/dev/null
fi

if [ ! -f "$STAMP" ] || [ ! -x "$VENV/bin/trytond" ]; then
  echo "creating the Tryton venv in $VENV"
  rm -rf "$VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check "${PACKAGES[@]}"
  touch "$STAMP"
fi

if [ ! -f "$TEMPLATE_DIR/$DB_NAME.sqlite" ] || [ "$(cat "$TEMPLATE_DIR/.ready" 2>/dev/null)" != "$TEMPLATE_VERSION" ]; then
  echo "building the template database in $TEMPLATE_DIR"
  rm -rf "$TEMPLATE_DIR"
  mkdir -p "$TEMPLATE_DIR"
  conf="$TEMPLATE_DIR/trytond.conf"
  printf '[database]\nuri = sqlite://\npath = %s\n' "$TEMPLATE_DIR" >"$conf"
  : >"$TEMPLATE_DIR/$DB_NAME.sqlite"
  passfile="$(mktemp)"
  trap 'rm -f "$passfile"' EXIT
  printf '%s\n' "$ADMIN_PASSWORD" >"$passfile"
  TRYTONPASSFILE="$passfile" "$VENV/bin/trytond-admin" -c "$conf" -d "$DB_NAME" \
    -u party product --activate-dependencies --email admin@example.com -vv >"$TEMPLATE_DIR/init.log" 2>&1 || {
    echo "trytond-admin failed; log:" >&2
    tail -n 40 "$TEMPLATE_DIR/init.log" >&2
    exit 1
  }
  # A company (with its currency) for the admin user, as every real Tryton
  # has: company-dependent values (list prices) need one in the context.
  TRYTOND_CONFIG="$conf" "$VENV/bin/python" - "$DB_NAME" >>"$TEMPLATE_DIR/init.log" 2>&1 <<'PY' || {
import sys
from trytond.pool import Pool
from trytond.transaction import Transaction
db = sys.argv[1]
Pool.start()
pool = Pool(db)
with Transaction().start(db, 0, readonly=True):
    pool.init()
with Transaction().start(db, 0) as transaction:
    Currency = pool.get('currency.currency')
    Party = pool.get('party.party')
    Company = pool.get('company.company')
    User = pool.get('res.user')
    eur, = Currency.create([{'name': 'Euro', 'symbol': 'EUR', 'code': 'EUR'}])
    party, = Party.create([{'name': 'Trueup Test Company'}])
    company, = Company.create([{'party': party.id, 'currency': eur.id}])
    # The company's party takes the first code of the sequence; the tests'
    # parties are numbered from there.
    admin, = User.search([('login', '=', 'admin')])
    User.write([admin], {'companies': [('add', [company.id])], 'company': company.id})
    transaction.commit()
PY
    echo "creating the template company failed; log:" >&2
    tail -n 40 "$TEMPLATE_DIR/init.log" >&2
    exit 1
  }
  "$VENV/bin/python" -c 'import sqlite3, sys; sqlite3.connect(sys.argv[1]).execute("PRAGMA wal_checkpoint(TRUNCATE)")' "$TEMPLATE_DIR/$DB_NAME.sqlite"
  rm -f "$conf" "$TEMPLATE_DIR/$DB_NAME.sqlite-wal" "$TEMPLATE_DIR/$DB_NAME.sqlite-shm"
  echo "$TEMPLATE_VERSION" >"$TEMPLATE_DIR/.ready"
fi

echo "Tryton ready: $VENV/bin/trytond, template $TEMPLATE_DIR/$DB_NAME.sqlite"
