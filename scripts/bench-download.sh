#!/usr/bin/env bash
# Download benchmark (not a test): Debian's nginx on loopback serves generated 2 GiB and 8 GiB
# files; our engine (verified: sha256 + fsync + install), curl, a `curl | tee | sha256sum`
# pipeline, aria2c -x16 and hf_transfer (max_files=8) each download them REPS times.
# Prints medians of throughput (to disk, final sync included), CPU seconds and peak RSS.
#   scripts/bench-download.sh [REPS] [SIZES_GIB...]     default: 3 reps, 2 and 8 GiB
#   BENCH_TOOLS='model-manager|hf_transfer' limits the tools (a grep -E pattern).
source "$(dirname "$0")/env.sh"
reps="${1:-3}"; shift || true
if [ $# -gt 0 ]; then sizes=("$@"); else sizes=(2 8); fi

log "installing nginx, aria2, GNU time and hf_transfer if missing"
need=()
command -v nginx >/dev/null || need+=(nginx-light)
command -v aria2c >/dev/null || need+=(aria2)
[ -x /usr/bin/time ] || need+=(time)
if [ ${#need[@]} -gt 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null; fi
python3 -c 'import hf_transfer' 2>/dev/null || pip install -q hf_transfer
log "building the engine's fetch example (release)"
(cd "$ROOT" && cargo build --release -p server --example fetch -q)
fetch="$CARGO_TARGET_DIR/release/examples/fetch"

work="${BENCH_DIR:-$HOME/.cache/model-manager/bench}"
mkdir -p "$work/www" "$work/out"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
cat >"$work/nginx.conf" <<NGINX
worker_processes 2;
$( [ "$(id -u)" -eq 0 ] && echo "user root;" )
pid $work/nginx.pid;
error_log $work/nginx-error.log;
events { worker_connections 256; }
http {
  access_log off;
  sendfile on; tcp_nopush on;
  server { listen 127.0.0.1:$port; root $work/www; }
}
NGINX
nginx -c "$work/nginx.conf"
trap 'nginx -c "$work/nginx.conf" -s stop 2>/dev/null || true; rm -rf "$work/out"' EXIT

for gib in "${sizes[@]}"; do
  f="$work/www/file-${gib}g.dat"
  if [ ! -f "$f.sha256" ] || [ "$(stat -c %s "$f")" -ne $((gib << 30)) ]; then
    log "generating $gib GiB of random data"
    (openssl enc -aes-128-ctr -pass pass:bench -nosalt -pbkdf2 </dev/zero 2>/dev/null || true) | head -c $((gib << 30)) >"$f"
    sha256sum "$f" | cut -d' ' -f1 >"$f.sha256"
  fi
done

# run NAME SIZE CMD... : one timed run; appends "name size seconds cpu rss_kb" to results.
results="$work/results.txt"; : >"$results"
run() {
  local name="$1" gib="$2"; shift 2
  echo "$name" | grep -qE "${BENCH_TOOLS:-.}" || return 0
  rm -rf "$work/out"; mkdir -p "$work/out"
  sync; echo 3 >/proc/sys/vm/drop_caches 2>/dev/null || true
  local t0 t1
  t0=$(date +%s.%N)
  /usr/bin/time -f '%U %S %M' -o "$work/time.txt" "$@" >/dev/null 2>"$work/err.txt" || { echo "$name failed:"; cat "$work/err.txt"; return 1; }
  sync -f "$work/out" 2>/dev/null || sync
  t1=$(date +%s.%N)
  read -r user sys rss <"$work/time.txt"
  awk -v n="$name" -v g="$gib" -v a="$t0" -v b="$t1" -v u="$user" -v s="$sys" -v r="$rss" \
    'BEGIN { printf "%s %s %.3f %.2f %s\n", n, g, b - a, u + s, r }' >>"$results"
}

for gib in "${sizes[@]}"; do
  url="http://127.0.0.1:$port/file-${gib}g.dat"
  sha="$(cat "$work/www/file-${gib}g.dat.sha256")"
  for r in $(seq 1 "$reps"); do
    log "$gib GiB, repetition $r of $reps"
    run "model-manager(verified)" "$gib" "$fetch" "$url" "$work/out/mm" "$sha"
    run "hf_transfer(x8)" "$gib" python3 -c "import hf_transfer,sys; hf_transfer.download('$url', '$work/out/f', max_files=8, chunk_size=10485760, parallel_failures=3, max_retries=3)"
    run "aria2c(-x16)" "$gib" aria2c -q -x16 -s16 -k1M --file-allocation=none -d "$work/out" -o f "$url"
    run "curl" "$gib" curl -sS -o "$work/out/f" "$url"
    run "curl|tee|sha256sum" "$gib" bash -c "curl -sS '$url' | tee '$work/out/f' | sha256sum | grep -q '^$sha '"
  done
done

python3 - "$results" <<'PY'
import statistics, sys, collections
rows = collections.defaultdict(list)
for line in open(sys.argv[1]):
    name, gib, secs, cpu, rss = line.split()
    rows[(int(gib), name)].append((float(secs), float(cpu), int(rss)))
print(f"\n{'tool':<26}{'size':>6}{'MB/s (median)':>15}{'CPU s':>8}{'peak RSS MiB':>14}{'vs hf_transfer':>16}")
for gib in sorted({g for g, _ in rows}):
    ref = statistics.median(s for s, _, _ in rows[(gib, 'hf_transfer(x8)')]) if (gib, 'hf_transfer(x8)') in rows else None
    for (g, name), runs in sorted(rows.items(), key=lambda kv: statistics.median(r[0] for r in kv[1])):
        if g != gib:
            continue
        secs = statistics.median(r[0] for r in runs)
        cpu = statistics.median(r[1] for r in runs)
        rss = max(r[2] for r in runs) / 1024
        mbs = gib * 2**30 / secs / 1e6
        ratio = f"{ref / secs:.2f}x" if ref else "-"
        print(f"{name:<26}{gib:>4}G {mbs:>14.0f}{cpu:>8.1f}{rss:>14.1f}{ratio:>16}")
PY
