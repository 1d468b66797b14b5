#!/usr/bin/env bash
# Runs the end-to-end suite: builds keyhole, starts it on a free loopback port with a temporary
# data dir, runs the node tests against it with the real client packages, and stops it by its
# process id. Needs Go, Node and npm (npm ci installs the pinned packages).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here"
[ -d node_modules ] || npm ci --no-audit --no-fund
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
KEYHOLE_URL="$url" KEYHOLE_ADMIN_KEY="$admin" node --test "$here"/*.test.mjs
