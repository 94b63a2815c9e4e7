#!/usr/bin/env bash
# Reference figures for Directus: how long the server itself needs to serve
# the pages of a pull and the writes of a push, measured with plain curl (one
# curl process per phase, keeping its connection alive, so curl adds almost
# nothing). Trueup's own pull and push are compared with these figures
# (`cargo test --release --test directus_bench -- --ignored --nocapture`
# runs this script against the same server).
#
#   DIRECTUS_URL=http://127.0.0.1:8055 DIRECTUS_TOKEN=... scripts/bench-directus-curl.sh
#
# Settings (environment):
#   DIRECTUS_URL, DIRECTUS_TOKEN   the server and an admin's static token (required)
#   COLLECTION     an existing collection to use (with id, code, name, email,
#                  phone, city, date_created, date_updated); default: a new
#                  collection `bench_curl_<time>` seeded with ITEMS items
#   ITEMS          items to pull (default 10000)
#   PAGE           page size of the pull (default 200)
#   UPDATES        items to update (default 5000)
#   BATCH          items per batch request in the batch-update figure (default 200)
# Prints one line per figure: `name seconds requests`.
set -euo pipefail

: "${DIRECTUS_URL:?set DIRECTUS_URL}"
: "${DIRECTUS_TOKEN:?set DIRECTUS_TOKEN}"
ITEMS="${ITEMS:-10000}"
PAGE="${PAGE:-200}"
UPDATES="${UPDATES:-5000}"
BATCH="${BATCH:-200}"
URL="${DIRECTUS_URL%/}"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

# The token goes in a curl config file, never on a command line.
printf 'header = "Authorization: Bearer %s"\nheader = "Content-Type: application/json"\nsilent\nshow-error\ngloboff\n' \
  "$DIRECTUS_TOKEN" >"$WORK/auth.cfg"
chmod 600 "$WORK/auth.cfg"
api() { curl --config "$WORK/auth.cfg" --fail-with-body "$@"; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.3f", b - a }'; }

if [ -z "${COLLECTION:-}" ]; then
  COLLECTION="bench_curl_$(date +%s)"
  api -X POST "$URL/collections" -o /dev/null -d @- <<JSON
{"collection":"$COLLECTION","schema":{},"meta":{},"fields":[
 {"field":"id","type":"integer","schema":{"is_primary_key":true,"has_auto_increment":true}},
 {"field":"code","type":"string","schema":{"is_unique":true,"is_nullable":false}},
 {"field":"name","type":"string","schema":{}},
 {"field":"email","type":"string","schema":{}},
 {"field":"phone","type":"string","schema":{}},
 {"field":"city","type":"string","schema":{}},
 {"field":"date_created","type":"timestamp","meta":{"special":["date-created"]},"schema":{}},
 {"field":"date_updated","type":"timestamp","meta":{"special":["date-updated"]},"schema":{}}]}
JSON
  start=$(now)
  for ((from = 0; from < ITEMS; from += 1000)); do
    to=$((from + 1000 < ITEMS ? from + 1000 : ITEMS))
    awk -v f="$from" -v t="$to" 'BEGIN {
      printf "["
      for (i = f; i < t; i++) {
        if (i > f) printf ","
        printf "{\"code\":\"C%06d\",\"name\":\"Customer %d\",\"email\":\"c%d@example.org\",\"phone\":\"+49 30 %07d\",\"city\":\"City %d\"}", i, i, i, i, i % 97
      }
      printf "]" }' >"$WORK/seed.json"
    api -X POST "$URL/items/$COLLECTION" -o /dev/null --data-binary @"$WORK/seed.json"
  done
  echo "seed $(elapsed "$start") $(((ITEMS + 999) / 1000))"
fi

# Pull: every page in order, over one kept-alive connection.
pages=$(((ITEMS + PAGE - 1) / PAGE))
: >"$WORK/pull.cfg"
for ((p = 0; p < pages; p++)); do
  printf 'url = "%s/items/%s?limit=%d&offset=%d&sort=id"\noutput = "%s/page-%d.json"\n' \
    "$URL" "$COLLECTION" "$PAGE" $((p * PAGE)) "$WORK" "$p" >>"$WORK/pull.cfg"
done
start=$(now)
api --config "$WORK/pull.cfg"
echo "pull $(elapsed "$start") $pages"
got=$(cat "$WORK"/page-*.json | grep -o '"id":' | wc -l)
[ "$got" -ge "$ITEMS" ] || { echo "pulled $got items, expected $ITEMS" >&2; exit 1; }

# The ids to update, and their date_updated as pulled (for conditional PATCHes).
ids=$(cat "$WORK"/page-*.json | grep -o '"id":[0-9]*' | cut -d: -f2 | awk -v n="$UPDATES" 'NR <= n')

# Push, conditional: one filtered PATCH per item (id and date_updated as
# pulled, here null), as a no-lost-update write must be on Directus.
: >"$WORK/patch.cfg"
n=0
for id in $ids; do
  [ $n -gt 0 ] && echo "next" >>"$WORK/patch.cfg"
  printf 'config = "%s/auth.cfg"\nrequest = "PATCH"\nurl = "%s/items/%s"\ndata = "{\\"query\\":{\\"filter\\":{\\"id\\":{\\"_eq\\":%d},\\"date_updated\\":{\\"_null\\":true}}},\\"data\\":{\\"city\\":\\"Conditional %d\\"}}"\noutput = "/dev/null"\n' \
    "$WORK" "$URL" "$COLLECTION" "$id" "$id" >>"$WORK/patch.cfg"
  n=$((n + 1))
done
start=$(now)
curl --config "$WORK/patch.cfg" --fail-with-body
echo "push_conditional $(elapsed "$start") $n"

# Push, plain batches: BATCH items per PATCH request (no condition), the
# server's own write time for the same batch sizes.
: >"$WORK/batch.cfg"
set -- $ids
b=0
while [ $# -gt 0 ]; do
  body="["
  k=0
  while [ $# -gt 0 ] && [ $k -lt "$BATCH" ]; do
    [ $k -gt 0 ] && body+=","
    body+="{\\\"id\\\":$1,\\\"city\\\":\\\"Batch $1\\\"}"
    shift
    k=$((k + 1))
  done
  body+="]"
  [ $b -gt 0 ] && echo "next" >>"$WORK/batch.cfg"
  printf 'config = "%s/auth.cfg"\nrequest = "PATCH"\nurl = "%s/items/%s"\ndata = "%s"\noutput = "/dev/null"\n' \
    "$WORK" "$URL" "$COLLECTION" "$body" >>"$WORK/batch.cfg"
  b=$((b + 1))
done
start=$(now)
curl --config "$WORK/batch.cfg" --fail-with-body
echo "push_batch $(elapsed "$start") $b"
