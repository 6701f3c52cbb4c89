#!/usr/bin/env bash
# The README's test command. Runs, in order, failing fast: format, clippy (server side and
# WASM side, never ssr+hydrate together), unit + integration tests, the release build, and
# the end-to-end tests in headless Chromium against the release server, and the container
# image's smoke test.
source "$(dirname "$0")/env.sh"
"$ROOT/scripts/setup.sh" test
cd "$ROOT"
started=$(date +%s)
step() { log "$* (+$(( $(date +%s) - started ))s)"; }

step "cargo fmt --check"
cargo fmt --all --check

step "clippy: server side (app/ssr + server)"
cargo clippy -p server --all-targets -- -D warnings
step "clippy: WASM side (app/hydrate + frontend, wasm32)"
cargo clippy -p frontend --target wasm32-unknown-unknown -- -D warnings

step "unit and integration tests"
cargo test -p app --features ssr
cargo test -p server

step "release build"
"$ROOT/scripts/build-site.sh" release

step "end-to-end tests (Playwright + /usr/bin/chromium)"
"$ROOT/scripts/e2e.sh"

step "container image: build and smoke test (podman)"
"$ROOT/scripts/container.sh" smoke
step "all green"
