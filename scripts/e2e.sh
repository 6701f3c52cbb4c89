#!/usr/bin/env bash
# Starts the built release server on a free loopback port with a temporary MODELS_DIR,
# runs the Playwright tests against it, and stops it. Screenshots: end2end/screenshots/.
source "$(dirname "$0")/env.sh"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
data="$(mktemp -d)"
log_file="$data/server.log"
# Fake Hugging Face / CivitAI / CDN on loopback (server/examples/fake_hub.rs).
"$CARGO_TARGET_DIR/release/examples/fake_hub" >"$data/hub.url" 2>"$data/hub.log" &
hub_pid=$!
for _ in $(seq 1 100); do [ -s "$data/hub.url" ] && break; sleep 0.1; done
hub_url="$(cat "$data/hub.url")"
# A dataset folder for the export page.
mkdir -p "$data/datasets/cats" "$data/datasets/dogs"
for i in 1 2 3; do printf 'img' >"$data/datasets/cats/$i.jpg"; printf 'a cat' >"$data/datasets/cats/$i.txt"; done
MODELS_DIR="$data/models" DATASETS_DIR="$data/datasets" LEPTOS_SITE_ROOT="$SITE_DIR" \
  LEPTOS_SITE_ADDR="127.0.0.1:$port" HF_ENDPOINT="$hub_url" CIVITAI_ENDPOINT="$hub_url" \
  MODELS_MIN_FREE_BYTES=0 MODELS_DOWNLOAD_RETRY_BASE_MS=100 \
  "$CARGO_TARGET_DIR/release/server" >"$log_file" 2>&1 &
server_pid=$!
cleanup() {
  kill "$server_pid" "$hub_pid" 2>/dev/null || true
  wait "$server_pid" "$hub_pid" 2>/dev/null || true
  rm -rf "$data"
}
trap cleanup EXIT
for _ in $(seq 1 100); do
  curl -fsS -o /dev/null "http://127.0.0.1:$port/" 2>/dev/null && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$log_file" >&2; exit 1; }
  sleep 0.2
done
cd "$ROOT/end2end"
if ! BASE_URL="http://127.0.0.1:$port" HUB_URL="$hub_url" npx playwright test "$@"; then
  echo "--- server log ---" >&2; cat "$log_file" >&2; exit 1
fi
