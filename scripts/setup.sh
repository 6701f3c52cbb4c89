#!/usr/bin/env bash
# Idempotent installs. `setup.sh` installs what building and running need;
# `setup.sh test` also installs Chromium for the end-to-end tests and podman for the container
# smoke test; `setup.sh container` installs podman.
source "$(dirname "$0")/env.sh"

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  log "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

if [ "$(wasm-bindgen --version 2>/dev/null || true)" != "wasm-bindgen $WASM_BINDGEN_VERSION" ]; then
  log "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION (about 4 minutes)"
  # Not --locked: its lockfile wants a webpki-roots the registry index here does not have.
  cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --force
fi

# wasm-split cuts the `#[lazy]` views out of the WASM into chunks loaded on demand (what
# `cargo leptos --split` does, as a command; its version must match wasm_split_helpers's).
if ! cargo install --list | grep -qx "wasm_split_cli_support v$WASM_SPLIT_VERSION:"; then
  log "installing wasm-split-cli $WASM_SPLIT_VERSION (about 1 minute)"
  cargo install --locked wasm_split_cli_support --version "$WASM_SPLIT_VERSION" \
    --features build-binary --force
fi

# npm packages from the committed lockfile: Playwright (no browser download) and binaryen's
# wasm-opt 132 (Debian's wasm-opt 108 silently breaks hydration).
stamp="$ROOT/end2end/node_modules/.lock-stamp"
if [ ! -f "$stamp" ] || ! cmp -s "$ROOT/end2end/package-lock.json" "$stamp"; then
  log "installing npm packages (end2end/package-lock.json)"
  (cd "$ROOT/end2end" && npm ci --no-audit --no-fund)
  cp "$ROOT/end2end/package-lock.json" "$stamp"
fi

if [ "${1:-}" = "test" ] && [ ! -x /usr/bin/chromium ]; then
  log "installing Debian's chromium"
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq chromium >/dev/null
fi

# podman for the container image and its smoke test (scripts/container.sh): these machines
# reach Debian's archive but no image registry; debootstrap makes the Debian base image.
if { [ "${1:-}" = "test" ] || [ "${1:-}" = "container" ]; } \
  && ! { command -v podman && command -v runc && command -v debootstrap; } >/dev/null 2>&1; then
  log "installing podman, runc and debootstrap"
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get -o DPkg::Lock::Timeout=600 update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get -o DPkg::Lock::Timeout=600 install -y -qq \
    podman runc debootstrap >/dev/null
fi

# Reference Python implementations the tests check us against: PyYAML (the YAML reader AI
# Toolkit uses) reads our exported configs; huggingface_hub, offline, must find our downloads
# in its cache; the gguf and safetensors packages write the files our content checks read.
if [ "${1:-}" = "test" ] && ! python3 -c 'import yaml, huggingface_hub, gguf, safetensors' 2>/dev/null; then
  log "installing PyYAML, huggingface_hub, gguf and safetensors (pip)"
  python3 -m pip install --quiet --root-user-action=ignore pyyaml huggingface_hub gguf safetensors
fi
