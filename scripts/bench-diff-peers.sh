#!/usr/bin/env bash
# Times `trueup diff` and the peer tools installed here on the same generated
# pair, side by side in one run, and prints a Markdown table of medians.
#
#   scripts/bench-diff-peers.sh [ROWS] [RUNS]      (defaults: 1000000 5)
#   BENCH_DIR=DIR caches the generated pairs elsewhere (default: target/bench-data)
#
# Peers are optional and skipped when missing:
#   polars, duckdb:  pip install polars duckdb
#   qsv:             cargo install qsv --features lite (see FIELD-NOTES: needs a one-line patch)
# Every tool gets the same pair, keyed by `id`, all columns as text. trueup's
# result is checked against the generator's truth first. Peers compute the
# added / removed / changed sets (counts printed); trueup also writes every
# changed cell as JSON, so the comparison does not favour trueup.
set -euo pipefail

ROWS=${1:-1000000}
RUNS=${2:-5}
cd "$(dirname "$0")/.."
TARGET=${CARGO_TARGET_DIR:-target}
cargo build --release --bin trueup-diff --bin trueup-bench >&2
BIN=$TARGET/release
# Generates the pair once (cached) and checks trueup's output against the truth.
BENCH_DIR=${BENCH_DIR:-$TARGET/bench-data}
"$BIN/trueup-bench" diff --rows "$ROWS" --runs 1 --dir "$BENCH_DIR" >&2
DATA=$BENCH_DIR/rows-$ROWS-seed-42
L=$DATA/left.csv
R=$DATA/right.csv
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

cat > "$TMP/polars_diff.py" <<'PY'
import sys, polars as pl
l = pl.read_csv(sys.argv[1], infer_schema_length=0)
r = pl.read_csv(sys.argv[2], infer_schema_length=0)
cols = [c for c in l.columns if c != "id" and c in r.columns]
added = r.join(l, on="id", how="anti")
removed = l.join(r, on="id", how="anti")
both = l.join(r, on="id", how="inner", suffix="_r")
changed = both.filter(pl.any_horizontal([pl.col(c).ne_missing(pl.col(c + "_r")) for c in cols]))
print(added.height, removed.height, changed.height)
PY

cat > "$TMP/duckdb_diff.py" <<'PY'
import sys, duckdb
con = duckdb.connect()
con.execute(f"CREATE TABLE l AS SELECT * FROM read_csv('{sys.argv[1]}', all_varchar=true)")
con.execute(f"CREATE TABLE r AS SELECT * FROM read_csv('{sys.argv[2]}', all_varchar=true)")
cols = [c[0] for c in con.execute("DESCRIBE l").fetchall() if c[0] != "id"]
cond = " OR ".join(f'l."{c}" IS DISTINCT FROM r."{c}"' for c in cols)
added = con.execute("SELECT count(*) FROM r ANTI JOIN l USING (id)").fetchone()[0]
removed = con.execute("SELECT count(*) FROM l ANTI JOIN r USING (id)").fetchone()[0]
changed = con.execute(f"SELECT count(*) FROM l JOIN r USING (id) WHERE {cond}").fetchone()[0]
print(added, removed, changed)
PY

# measure NAME CMD...: RUNS runs; prints "| NAME | median s | peak MiB |".
measure() {
  local name=$1; shift
  local times=() peak=0
  for _ in $(seq "$RUNS"); do
    /usr/bin/time -f "%e %M" -o "$TMP/time" "$@" > "$TMP/out" 2> "$TMP/err" || true
    read -r t m < <(tail -n 1 "$TMP/time")
    times+=("$t")
    (( m > peak )) && peak=$m
  done
  local med
  med=$(printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
  printf '| %s | %s | %d |\n' "$name" "$med" $((peak / 1024))
}

echo "$ROWS-row pair, $(($(stat -c %s "$L") / 1000000)) MB per file, $RUNS runs each, load before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| tool | median wall (s) | peak RSS (MiB) |"
echo "| --- | --- | --- |"
measure "trueup diff --format json" "$BIN/trueup-diff" "$L" "$R" --key id --format json
if command -v qsv >/dev/null 2>&1; then
  measure "qsv diff" qsv diff --key 0 "$L" "$R"
fi
if python3 -c "import polars" 2>/dev/null; then
  measure "polars $(python3 -c 'import polars; print(polars.__version__)')" python3 "$TMP/polars_diff.py" "$L" "$R"
fi
if python3 -c "import duckdb" 2>/dev/null; then
  measure "duckdb $(python3 -c 'import duckdb; print(duckdb.__version__)')" python3 "$TMP/duckdb_diff.py" "$L" "$R"
fi
