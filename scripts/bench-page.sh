#!/usr/bin/env bash
# The first-load benchmark (not a test): transfer sizes and time-to-interactive of the Models
# page under Slow 4G with a 4x CPU slowdown (end2end/bench/page.mjs), for the built site and,
# when BENCH_BEFORE names another built site folder, for that one too (before/after).
#   scripts/bench-page.sh [RUNS]                      the site of scripts/build-site.sh release
#   BENCH_BEFORE=/path/to/old/site [BENCH_BEFORE_SERVER=/path/to/old/server] scripts/bench-page.sh
# The older site is served by BENCH_BEFORE_SERVER (default: the current binary): a site only
# hydrates against the HTML of the server built with it.
# With Lighthouse on PATH (or LIGHTHOUSE=/path/to/lighthouse; `npm i -g lighthouse`), each site
# also gets Lighthouse's mobile performance score (its own simulated slow 4G and 4x CPU) with
# Debian's chromium; without it that step says so and is skipped.
source "$(dirname "$0")/env.sh"
runs="${1:-3}"
server="$CARGO_TARGET_DIR/release/model-manager"
[ -x "$server" ] || { echo "no release server: run scripts/build-site.sh release first" >&2; exit 1; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
data="$(mktemp -d)"
pids=()
cleanup() {
  kill "${pids[@]}" 2>/dev/null || true
  wait "${pids[@]}" 2>/dev/null || true
  rm -rf "$data"
}
trap cleanup EXIT

# sizes SITE: each bundle file raw, gzip -9 and brotli (the .br copy when the build made one).
sizes() {
  printf '%-48s %9s %9s %9s\n' "file ($1)" raw gzip brotli
  for f in "$1"/pkg/*.js "$1"/pkg/*.wasm "$1"/pkg/*.css; do
    local br="-"
    [ -f "$f.br" ] && br="$(stat -c %s "$f.br")"
    printf '%-48s %9s %9s %9s\n' "$(basename "$f")" "$(stat -c %s "$f")" "$(gzip -9c "$f" | wc -c)" "$br"
  done
}

# bench LABEL SITE [SERVER]: the release server on SITE, then the browser measurement.
bench() {
  local binary="${3:-$server}" serve=()
  # The one binary serves with `serve`; a build from before it (an older `server`) with nothing.
  [ "$(basename "$binary")" = model-manager ] && serve=(serve)
  local port
  port="$(free_port)"
  mkdir -p "$data/$1"
  MODELS_DIR="$data/$1" LEPTOS_SITE_ROOT="$2" LEPTOS_SITE_ADDR="127.0.0.1:$port" \
    MODELS_MIN_FREE_BYTES=0 "$binary" "${serve[@]}" >"$data/$1.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 100); do
    curl -fsS -o /dev/null "http://127.0.0.1:$port/healthz" 2>/dev/null && break
    sleep 0.2
  done
  sizes "$2"
  printf 'HTML of /: %s B raw\n' "$(curl -fsS "http://127.0.0.1:$port/" | wc -c)"
  (cd "$ROOT/end2end" && node bench/page.mjs "$1" "http://127.0.0.1:$port" "$runs")
  lighthouse_score "http://127.0.0.1:$port/"
}

# lighthouse_score URL: Lighthouse's mobile performance score and the metrics behind it.
lighthouse_score() {
  local lh="${LIGHTHOUSE:-$(command -v lighthouse || true)}"
  if [ -z "$lh" ]; then
    echo "  Lighthouse: not installed (npm i -g lighthouse, or LIGHTHOUSE=path): skipped"
    return 0
  fi
  CHROME_PATH=/usr/bin/chromium "$lh" "$1" --quiet --only-categories=performance \
    --form-factor=mobile --throttling-method=simulate --output=json --output-path="$data/lh.json" \
    --chrome-flags="--headless=new --no-sandbox --disable-gpu" >/dev/null 2>"$data/lh.log" || {
    echo "  Lighthouse failed: $(tail -1 "$data/lh.log")"
    return 0
  }
  node -e '
    const r = require(process.argv[1]);
    const a = (id) => r.audits[id].displayValue;
    console.log(`  Lighthouse mobile performance: ${r.categories.performance.score} ` +
      `(FCP ${a("first-contentful-paint")}, LCP ${a("largest-contentful-paint")}, ` +
      `TBT ${a("total-blocking-time")}, SI ${a("speed-index")}, CLS ${a("cumulative-layout-shift")})`);
  ' "$data/lh.json"
}

if [ -n "${BENCH_BEFORE:-}" ]; then bench before "$BENCH_BEFORE" "${BENCH_BEFORE_SERVER:-}"; echo; fi
bench after "$SITE_DIR"
