#!/usr/bin/env bash
# The load test of docs/operations.md, end to end, on PostgreSQL:
#   [FANZHA_DATA_DIR=DIR] bench/load/run.sh postgres://postgres@127.0.0.1:55433/fanzha_large [SCENARIO …]
# 1. builds the large demo world (1,000,000 people) if missing — many minutes the first time;
# 2. starts the province campaign with every person's attestations and rolls it up
#    (`fanzha bench rollup --reuse`, which also prints its own figures);
# 3. serves it with 4 gunicorn workers on 127.0.0.1:8100 with the production settings;
# 4. runs `fanzha bench load --cold` (default: every scenario; the first one from the cold server too)
#    and prints its JSON on stdout;
# 5. stops the server. Needs `pip install -e '.[load]'` (locust).
set -euo pipefail
cd "$(dirname "$0")/../.."
export DATABASE_URL="${1:?usage: run.sh DATABASE_URL [SCENARIO ...]}"
shift
export FANZHA_DATA_DIR="${FANZHA_DATA_DIR:-$PWD/var/load}"   # the world's field key lives here: keep it
BIN=.venv/bin
PORT=8100
mkdir -p "$FANZHA_DATA_DIR"

$BIN/fanzha migrate --no-input >&2
$BIN/fanzha demo --size large --no-serve >&2
$BIN/fanzha bench rollup --reuse --runs 1 >&2
$BIN/fanzha rollup >&2

# Production settings; plain HTTP on loopback stands in for nginx (the locustfile sends
# X-Forwarded-Proto: https as nginx does, believed because a proxy is declared with
# FANZHA_TRUSTED_PROXIES=1). Access lines go to a file, not the terminal.
DJANGO_SETTINGS_MODULE=fanzha.settings.prod FANZHA_TRUSTED_PROXIES=1 \
  $BIN/fanzha serve --bind 127.0.0.1:$PORT --workers 4 --threads 4 \
  >"$FANZHA_DATA_DIR/serve.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null; wait $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 120); do
  curl -s -o /dev/null "http://127.0.0.1:$PORT/healthz" && break
  sleep 1
done

scenarios=()
for name in "${@:-all}"; do scenarios+=(--scenario "$name"); done
# --cold: the first scenario is also reported for its first 30 s from this fresh start (each gunicorn
# worker warmed itself before taking traffic: fanzha/core/warm.py), beside its steady state.
$BIN/fanzha bench load --cold --host "http://127.0.0.1:$PORT" "${scenarios[@]}"
