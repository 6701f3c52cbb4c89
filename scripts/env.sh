# Sourced by the other scripts: shared paths and tool versions.
# The build cache lives outside the clone so a fresh clone (CI) reuses it; a fresh machine builds it.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/model-manager/target}"
# CI builds once per clone: incremental caches would only grow the shared target folder.
if [ "${CI:-}" = "true" ]; then export CARGO_INCREMENTAL=0; fi
export PATH="$ROOT/end2end/node_modules/.bin:$HOME/.cargo/bin:$PATH"
# The output name from Leptos.toml (the site settings); .cargo/config.toml repeats it for plain
# cargo commands (a test keeps the two equal).
LEPTOS_OUTPUT_NAME="$(sed -nE 's/^output-name *= *"([^"]+)".*/\1/p' "$ROOT/Leptos.toml")"
export LEPTOS_OUTPUT_NAME
WASM_BINDGEN_VERSION="0.2.130" # must equal the `=` pin in Cargo.toml
CARGO_LEPTOS_VERSION="0.3.10"
WASM_SPLIT_VERSION="0.2.3" # wasm_split_cli_support; must match wasm_split_helpers in Cargo.lock
SITE_DIR="$CARGO_TARGET_DIR/site"

log() { printf '\n\033[1m==> %s\033[0m\n' "$*" >&2; }
