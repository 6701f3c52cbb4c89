#!/usr/bin/env bash
# The smoke test of the built image (run by `scripts/container.sh smoke`, after its build):
#  1. the image as shipped (0.0.0.0:3000 published on loopback, read-only root, the volume):
#     the page renders with the open-port warning, /readyz is ready, the REST list answers,
#     the HEALTHCHECK passes, `model-manager list` works inside it, the `server` alias
#     answers, the root filesystem is read-only;
#  2. with MODELS_AUTH_TOKEN (host network, to reach the fake hub on loopback): page and API
#     answer redirect/401 without it and work with it; a download from the fake hub is
#     SIGKILLed mid-way, a new container on the same volume completes it with the right
#     sha256; `podman stop` (SIGTERM) mid-download returns within 5 s and the next start
#     resumes the paused job.
# The containers and the volume are always removed, also on failure.
source "$(dirname "$0")/env.sh"
export CONTAINERS_CONF="$ROOT/scripts/containers.conf"
IMAGE="${IMAGE:-model-manager:latest}"
name="mm-smoke-$$"
volume="mm-smoke-$$"
tmp="$(mktemp -d)"
hub_pid=""
cleanup() {
  local status=$?
  if [ "$status" -ne 0 ]; then
    echo "--- container log ---" >&2
    podman logs "$name" >&2 2>/dev/null || true
  fi
  podman rm -f -t 0 "$name" >/dev/null 2>&1 || true
  podman volume rm -f "$volume" >/dev/null 2>&1 || true
  [ -z "$hub_pid" ] || { kill "$hub_pid" 2>/dev/null; wait "$hub_pid" 2>/dev/null; } || true
  rm -rf "$tmp"
  exit "$status"
}
trap cleanup EXIT
fail() { echo "SMOKE FAILED: $*" >&2; exit 1; }
step() { log "smoke: $*"; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# json EXPR: evaluates EXPR on the JSON document on stdin (as `d`).
json() { python3 -c 'import json, sys; d = json.load(sys.stdin); print(eval(sys.argv[1]))' "$1"; }
now_ms() { date +%s%3N; }
# logged TEXT: the container's log has TEXT (read whole first: `grep -q` on a pipe would cut
# podman off and fail the pipeline).
logged() { podman logs "$name" >"$tmp/container.log" 2>&1; grep -q "$1" "$tmp/container.log"; }

port="$(free_port)"
base="http://127.0.0.1:$port"
wait_up() {
  for _ in $(seq 1 150); do
    curl -fsS -o /dev/null "$base/healthz" 2>/dev/null && return 0
    [ "$(podman inspect -f '{{.State.Running}}' "$name" 2>/dev/null)" = true ] || fail "the container stopped"
    sleep 0.2
  done
  fail "the server in the container did not answer"
}

step "the image as shipped"
podman run -d --name "$name" --pull=never --init --read-only --health-interval=disable -p "127.0.0.1:$port:3000" \
  -v "$volume:/workspace/models" "$IMAGE" >/dev/null
wait_up
page="$(curl -fsS "$base/")"
grep -q "<title>Model Manager</title>" <<<"$page" || fail "the page did not render"
grep -q "Anyone who can reach this port can manage your models" <<<"$page" \
  || fail "no warning banner on an open port"
[ "$(curl -fsS "$base/readyz" | json 'd["status"]')" = ready ] || fail "/readyz is not ready"
[ "$(curl -fsS "$base/api/models" | json 'len(d["models"])')" -gt 0 ] || fail "the REST list is empty"
podman healthcheck run "$name" >/dev/null || fail "the HEALTHCHECK failed"
[ "$(podman exec "$name" model-manager list --json | json 'len(d["models"])')" -gt 0 ] \
  || fail "the command line in the container cannot list models"
podman exec "$name" server healthcheck >/dev/null || fail "the server alias does not answer healthcheck"
! podman exec "$name" touch /usr/local/bin/x 2>/dev/null || fail "the root filesystem is writable"
logged "anyone who can reach this port" || fail "no warning in the log"
podman rm -f -t 10 "$name" >/dev/null

step "with MODELS_AUTH_TOKEN"
"$CARGO_TARGET_DIR/release/examples/fake_hub" >"$tmp/hub.url" 2>"$tmp/hub.log" &
hub_pid=$!
for _ in $(seq 1 100); do [ -s "$tmp/hub.url" ] && break; sleep 0.1; done
hub="$(cat "$tmp/hub.url")"
export MODELS_AUTH_TOKEN="smoke-$(python3 -c 'import secrets; print(secrets.token_hex(16))')"
start() {
  podman run -d --name "$name" --pull=never --init --read-only --health-interval=disable --network host \
    -v "$volume:/workspace/models" -e MODELS_AUTH_TOKEN -e LEPTOS_SITE_ADDR="127.0.0.1:$port" \
    -e HF_ENDPOINT="$hub" -e CIVITAI_ENDPOINT="$hub" -e MODELS_MIN_FREE_BYTES=0 \
    -e MODELS_DOWNLOAD_RETRY_BASE_MS=100 "$IMAGE" >/dev/null
  wait_up
}
api() { curl -sS -H "Authorization: Bearer $MODELS_AUTH_TOKEN" "$@"; }
start
[ "$(curl -s -o /dev/null -w '%{http_code} %{redirect_url}' "$base/")" = "303 $base/login?next=%2F" ] \
  || fail "the page did not redirect to the login"
[ "$(curl -s -o /dev/null -w '%{http_code}' "$base/api/models")" = 401 ] || fail "the API answered without the token"
[ "$(api -o /dev/null -w '%{http_code}' "$base/api/models")" = 200 ] || fail "the API refused the token"
curl -sS -o /dev/null -c "$tmp/cookies" --data-urlencode "token=$MODELS_AUTH_TOKEN" "$base/login"
page="$(curl -fsS -b "$tmp/cookies" "$base/")"
grep -q "Log out" <<<"$page" || fail "the login did not open the page"

step "a download killed with SIGKILL completes in a new container on the same volume"
model="$(api -H 'content-type: application/json' "$base/api/models" -d '{"name": "Container smoke",
  "huggingfaceRepo": "acme/container-smoke", "huggingfaceFiles": ["model.safetensors"],
  "type": "lora", "family": "flux"}' | json 'd["model"]["id"]')"
download() {
  api -H 'content-type: application/json' "$base/api/models/download" -d "{\"modelId\": \"$model\"}" \
    | json 'd["jobId"]'
}
job() { api "$base/api/models/download/$1"; }
# wait_job ID EXPR: until EXPR holds for the job (as `d`).
wait_job() {
  for _ in $(seq 1 300); do
    [ "$(job "$1" | json "$2")" = True ] && return 0
    sleep 0.1
  done
  fail "job $1: never $2: $(job "$1")"
}
id="$(download)"
wait_job "$id" 'd["bytesDownloaded"] > 2_000_000 and d["status"] == "downloading"'
podman kill -s KILL "$name" >/dev/null
podman rm -f -t 0 "$name" >/dev/null
start
wait_job "$id" 'd["status"] == "completed"'
expected="$(curl -fsSL "$hub/acme/container-smoke/resolve/main/model.safetensors" | sha256sum | cut -d' ' -f1)"
installed="$(job "$id" | json 'd["installedModelId"]')"
got="$(api "$base/api/models/installed" | json "[m for m in d['models'] if m['id'] == '$installed'][0]['files'][0]['sha256']")"
[ "$got" = "$expected" ] || fail "sha256 $got, expected $expected"
[ "$(api -X POST "$base/api/models/installed/verify?id=$installed" | json 'd["verification"]["ok"]')" = True ] \
  || fail "the installed file does not verify"

step "podman stop (SIGTERM) mid-download returns within 5 s; the next start resumes"
api -X DELETE -o /dev/null "$base/api/models/installed?id=$installed"
id="$(download)"
wait_job "$id" 'd["bytesDownloaded"] > 2_000_000 and d["status"] == "downloading"'
started="$(now_ms)"
podman stop -t 10 "$name" >/dev/null
took=$(( $(now_ms) - started ))
echo "podman stop took ${took} ms" >&2
[ "$took" -lt 5000 ] || fail "podman stop took ${took} ms"
logged "download paused" || fail "the download was not paused"
podman start "$name" >/dev/null
wait_up
wait_job "$id" 'd["status"] == "completed"'
logged "resuming unfinished downloads" || fail "the job did not resume"
step "all green"
