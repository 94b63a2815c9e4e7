#!/usr/bin/env bash
# Installs the system packages the tests need (idempotent; quick when present).
set -euo pipefail

need=()
command -v initdb >/dev/null 2>&1 || [ -x /usr/lib/postgresql/15/bin/initdb ] || need+=(postgresql)
command -v cc >/dev/null 2>&1 || need+=(build-essential)
command -v pkg-config >/dev/null 2>&1 || need+=(pkg-config)

if [ ${#need[@]} -gt 0 ]; then
  echo "installing: ${need[*]}"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi

# PostgreSQL server binaries: Debian keeps them off the PATH.
if ! command -v initdb >/dev/null 2>&1; then
  for d in /usr/lib/postgresql/*/bin; do
    [ -x "$d/initdb" ] && echo "PostgreSQL binaries in $d (tests find them there)"
  done
fi
rustup component add rustfmt clippy >/dev/null 2>&1 || true

# Real servers the integration tests start themselves (each script is
# idempotent and quick when its server is already installed).
here="$(cd "$(dirname "$0")" && pwd)"
for server in tryton directus prism vendure; do
  if [ -f "$here/setup-$server.sh" ]; then
    echo "setting up $server (scripts/setup-$server.sh)"
    bash "$here/setup-$server.sh"
  fi
done
