#!/usr/bin/env bash
# The README's first command: build the command line, create the demo
# workspace, pull both systems, reconcile, and export the results to CSV.
# (The desktop app will replace this once it exists.)
set -euo pipefail
cd "$(dirname "$0")/.."
command -v cargo >/dev/null || { echo "needs Rust (cargo): see https://rustup.rs"; exit 1; }
command -v cc >/dev/null || bash scripts/setup-test-deps.sh
cargo build --release --bin trueup
T=target/release/trueup
DIR=${1:-demo-workspace}
rm -rf "$DIR"
$T init --demo "$DIR"
$T -w "$DIR" reconcile --pull customers
echo
echo "First proposals:"
$T -w "$DIR" proposals customers --limit 10
echo
$T -w "$DIR" export customers --what diff --bom -o "$DIR/diff.csv"
$T -w "$DIR" export customers --what exceptions --bom -o "$DIR/exceptions.csv"
echo
echo "Next: '$T -w $DIR show customers c-10032', 'approve', 'reject', 'correct', 'history' — see '$T --help'."
