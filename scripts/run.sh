#!/usr/bin/env bash
# The README's run command: installs what is missing, builds the release site and server,
# and serves on LEPTOS_SITE_ADDR (default 127.0.0.1:3000).
source "$(dirname "$0")/env.sh"
"$ROOT/scripts/setup.sh"
"$ROOT/scripts/build-site.sh" release

export MODELS_DIR="${MODELS_DIR:-/workspace/models}"
if ! mkdir -p "$MODELS_DIR" 2>/dev/null || [ ! -w "$MODELS_DIR" ]; then
  fallback="$ROOT/.data/models"
  log "MODELS_DIR $MODELS_DIR cannot be created or written; using $fallback (set MODELS_DIR to choose)"
  export MODELS_DIR="$fallback"
  mkdir -p "$MODELS_DIR"
fi
export LEPTOS_SITE_ROOT="$SITE_DIR"
log "serving on http://${LEPTOS_SITE_ADDR:-127.0.0.1:3000} with MODELS_DIR=$MODELS_DIR"
exec "$CARGO_TARGET_DIR/release/model-manager" serve
