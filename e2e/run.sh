#!/usr/bin/env bash
# Runs the end-to-end suite: builds keyhole, starts it on a free loopback port with a temporary
# data dir, runs every e2e/*.test.mjs with node --test against it (the real client packages, and
# Debian's chromium driven by playwright-core for the browser tests), and stops it by its process
# id. Needs Go, Node and npm, and /usr/bin/chromium (.ci/run installs it): without it the suite
# fails rather than skipping the browser tests. npm ci runs when node_modules is missing or
# package-lock.json changed since the last npm ci (.ci/run runs it first and writes the same stamp).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here"
if [ ! -x /usr/bin/chromium ]; then
  echo "e2e: /usr/bin/chromium is missing (apt-get install -y chromium); the browser tests need it" >&2
  exit 1
fi
lock_sum=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -d node_modules ] || [ "$(cat node_modules/.keyhole-lock-sha256 2>/dev/null)" != "$lock_sum" ]; then
  npm ci --no-audit --no-fund
  echo "$lock_sum" >node_modules/.keyhole-lock-sha256
fi
tmp=$(mktemp -d)
go build -o "$tmp/keyhole" ../cmd/keyhole
admin=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
"$tmp/keyhole" serve --listen 127.0.0.1:0 --data-dir "$tmp/data" --admin-key "$admin" >"$tmp/out.log" 2>"$tmp/err.log" &
pid=$!
cleanup() { kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$tmp"; }
trap cleanup EXIT
url=""
for _ in $(seq 1 200); do
  url=$(sed -n 's/.*listening on \(http:[^ ]*\).*/\1/p' "$tmp/out.log" | head -n1)
  [ -n "$url" ] && break
  kill -0 "$pid" 2>/dev/null || { cat "$tmp/err.log" >&2; exit 1; }
  sleep 0.05
done
[ -n "$url" ] || { echo "keyhole did not start" >&2; cat "$tmp/err.log" >&2; exit 1; }
status=0
# Every test is bounded (the browser steps have their own 15 s waits), so a hang fails the run.
KEYHOLE_BIN="$tmp/keyhole" KEYHOLE_URL="$url" KEYHOLE_ADMIN_KEY="$admin" node --test --test-timeout=120000 "$here"/*.test.mjs || status=$?
if [ "$status" -ne 0 ]; then
  echo "== keyhole's log (stderr)" >&2
  tail -n 50 "$tmp/err.log" >&2
fi
exit "$status"
