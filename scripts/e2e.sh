#!/usr/bin/env bash
# Starts the built release server on a free loopback port with a temporary MODELS_DIR,
# runs the Playwright tests against it, and stops it. Screenshots: end2end/screenshots/.
# Two more servers for end2end/tests/auth.spec.ts: one with MODELS_AUTH_TOKEN (AUTH_URL) and
# one listening on every interface without a token (OPEN_URL, the page shows a warning).
source "$(dirname "$0")/env.sh"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
data="$(mktemp -d)"
pids=()
cleanup() {
  kill "${pids[@]}" 2>/dev/null || true
  wait "${pids[@]}" 2>/dev/null || true
  rm -rf "$data"
}
trap cleanup EXIT
# Fake Hugging Face / CivitAI / CDN on loopback (server/examples/fake_hub.rs).
"$CARGO_TARGET_DIR/release/examples/fake_hub" >"$data/hub.url" 2>"$data/hub.log" &
pids+=($!)
for _ in $(seq 1 100); do [ -s "$data/hub.url" ] && break; sleep 0.1; done
hub_url="$(cat "$data/hub.url")"
# A dataset folder for the export page.
mkdir -p "$data/datasets/cats" "$data/datasets/dogs"
for i in 1 2 3; do printf 'img' >"$data/datasets/cats/$i.jpg"; printf 'a cat' >"$data/datasets/cats/$i.txt"; done

# start_server NAME HOST PORT [VAR=value...]: the release server on its own MODELS_DIR.
start_server() {
  local name="$1" host="$2" port="$3"; shift 3
  env MODELS_DIR="$data/$name" DATASETS_DIR="$data/datasets" LEPTOS_SITE_ROOT="$SITE_DIR" \
    LEPTOS_SITE_ADDR="$host:$port" HF_ENDPOINT="$hub_url" CIVITAI_ENDPOINT="$hub_url" \
    MODELS_MIN_FREE_BYTES=0 MODELS_DOWNLOAD_RETRY_BASE_MS=100 MODELS_DOWNLOAD_STALL_SECS=2 "$@" \
    "$CARGO_TARGET_DIR/release/model-manager" serve >"$data/$name.log" 2>&1 &
  pids+=($!)
  local pid=$!
  for _ in $(seq 1 100); do
    curl -fsS -o /dev/null "http://127.0.0.1:$port/healthz" 2>/dev/null && return 0
    kill -0 "$pid" 2>/dev/null || { cat "$data/$name.log" >&2; exit 1; }
    sleep 0.2
  done
  echo "the $name server did not start" >&2; cat "$data/$name.log" >&2; exit 1
}
port="$(free_port)"
# An extra scan root, as a ComfyUI models folder would be (end2end/tests/scan.spec.ts).
mkdir -p "$data/comfy"
# CivitAI lookups only from the card ("Look up on CivitAI", end2end/tests/civitai.spec.ts): an
# automatic lookup writes the database a second after each install, and the page's refetch
# would replace a card the flows are clicking (the automatic lookup: server/tests/api_civitai.rs).
start_server models 127.0.0.1 "$port" MODELS_SCAN_DIRS="$data/comfy" MODELS_CIVITAI_LOOKUP=false
auth_port="$(free_port)"
auth_token="e2e-$(python3 -c 'import secrets; print(secrets.token_hex(16))')"
start_server auth 127.0.0.1 "$auth_port" MODELS_AUTH_TOKEN="$auth_token" MODELS_AUTH_FAIL_DELAY_MS=200
open_port="$(free_port)"
start_server open 0.0.0.0 "$open_port"

cd "$ROOT/end2end"
if ! BASE_URL="http://127.0.0.1:$port" HUB_URL="$hub_url" MODELS_DIR="$data/models" SCAN_DIR="$data/comfy" AUTH_URL="http://127.0.0.1:$auth_port" \
  AUTH_TOKEN="$auth_token" OPEN_URL="http://127.0.0.1:$open_port" npx playwright test "$@"; then
  for name in models auth open; do echo "--- $name server log ---" >&2; cat "$data/$name.log" >&2; done
  exit 1
fi
