#!/usr/bin/env bash
# Builds the site (WASM + JS + CSS + public/) and the server, without cargo-leptos:
#   build-site.sh release   optimised, wasm-opt'ed (what `run` and the tests use)
#   build-site.sh debug     fast, unoptimised
# cargo-leptos needs a ~40 minute install; this pipeline produces the same site layout
# (target/site/pkg/model-manager.<hash>.{js,wasm,css}, each with .br and .gz copies, and
# target/site/hash.txt naming the hashes) with tools that install in minutes.
source "$(dirname "$0")/env.sh"
mode="${1:-release}"
case "$mode" in
  release) wasm_profile=wasm-release; wasm_dir=wasm-release; server_profile=release ;;
  debug) wasm_profile=dev; wasm_dir=debug; server_profile=dev ;;
  *) echo "usage: $0 [release|debug]" >&2; exit 2 ;;
esac
pkg="$SITE_DIR/pkg"
cd "$ROOT"

log "building the WASM front end ($mode)"
cargo build -p frontend --lib --target wasm32-unknown-unknown --profile "$wasm_profile"
raw="$CARGO_TARGET_DIR/wasm32-unknown-unknown/$wasm_dir/frontend.wasm"

# `#[lazy]` views (the Installed and Add tabs, the Export page, ...) are cut out into chunks the
# page fetches when it first shows them; the main module keeps what the first view needs.
log "wasm-split: lazily loaded chunks"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/split" "$tmp/out"
wasm-split-cli "$raw" "$tmp/split" --out-name "$LEPTOS_OUTPUT_NAME"
main="$tmp/split/$LEPTOS_OUTPUT_NAME.wasm"

log "wasm-bindgen"
# The chunks share the main module's memory and function table through its linker exports.
wasm-bindgen --target web --no-typescript --keep-lld-exports --no-demangle \
  --out-name "$LEPTOS_OUTPUT_NAME" --out-dir "$tmp/out" "$main"
mv "$tmp/out/${LEPTOS_OUTPUT_NAME}_bg.wasm" "$tmp/out/$LEPTOS_OUTPUT_NAME.wasm"
rm "$main"
mv "$tmp/split"/* "$tmp/out/"
if [ "$mode" = release ]; then
  log "wasm-opt -Oz (the main module and each chunk)"
  for module in "$tmp/out"/*.wasm; do
    wasm-opt -Oz --strip-debug --enable-bulk-memory --enable-nontrapping-float-to-int \
      "$module" -o "$module"
  done
fi
cp style/main.css "$tmp/out/$LEPTOS_OUTPUT_NAME.css"

# Swap the new site in whole, so a running server never serves half a build.
mkdir -p "$SITE_DIR"
rm -rf "$SITE_DIR.new"
mkdir -p "$SITE_DIR.new/pkg"
cp -r public/. "$SITE_DIR.new/"
cp "$tmp/out"/* "$SITE_DIR.new/pkg/"
log "content-hashed names and brotli/gzip copies"
node "$ROOT/scripts/hash-assets.mjs" "$SITE_DIR.new" "$SITE_DIR.new/pkg" "$LEPTOS_OUTPUT_NAME"
rm -rf "$SITE_DIR.old"
mv "$SITE_DIR" "$SITE_DIR.old"
mv "$SITE_DIR.new" "$SITE_DIR"
rm -rf "$SITE_DIR.old"

log "building the server ($mode) and the fake hub for browser tests"
cargo build -p server --bin model-manager --example fake_hub --profile "$server_profile"

printf 'site: %s\n' "$SITE_DIR" >&2
ls -l "$pkg" >&2
