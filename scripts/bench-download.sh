#!/usr/bin/env bash
# Download benchmark (not a test): Debian's nginx on loopback serves generated 2 GiB and 8 GiB
# files; our engine (verified: sha256 + fsync + install), curl, a `curl | tee | sha256sum`
# pipeline, aria2c -x16 -s16 and hf_transfer (max_files=8) each download them REPS times, in
# each mode: plain HTTP, HTTP capped at 40 MiB/s per connection (nginx `limit_rate 40m`, what a
# CDN does to one stream), HTTPS (a throwaway CA made here), and HTTPS capped.
# Prints medians of throughput (to disk, final sync included), CPU seconds and peak RSS, and
# the disk's own speed (dd with fdatasync) to compare with min(disk, connections x cap).
# Before each run the page cache is dropped and the served file read back into it: the client
# starts cold, and nginx serves from memory as a CDN does, instead of reading from the disk the
# client writes to (which the bound above does not count). CPU is counted twice: the tool's
# own (user + sys of its processes), and the whole machine's minus nginx's, which also counts
# the kernel threads that write a tool's dirty pages back after it has written them.
# `openssl dgst -sha256` of the served file (from memory) shows what hashing alone costs here.
#   scripts/bench-download.sh [REPS] [SIZES_GIB...]     default: 3 reps, 2 and 8 GiB
#   BENCH_TOOLS='model-manager|hf_transfer' limits the tools (a grep -E pattern).
#   BENCH_MODES='http capped https https-capped' limits the modes (default: all four).
source "$(dirname "$0")/env.sh"
reps="${1:-3}"; shift || true
if [ $# -gt 0 ]; then sizes=("$@"); else sizes=(2 8); fi

log "installing nginx, aria2, GNU time and hf_transfer if missing"
need=()
command -v nginx >/dev/null || need+=(nginx-light)
command -v aria2c >/dev/null || need+=(aria2)
command -v bc >/dev/null || need+=(bc)
[ -x /usr/bin/time ] || need+=(time)
if [ ${#need[@]} -gt 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null; fi
python3 -c 'import hf_transfer' 2>/dev/null || pip install -q hf_transfer
log "building the engine's fetch example (release)"
(cd "$ROOT" && cargo build --release -p server --example fetch -q)
fetch="$CARGO_TARGET_DIR/release/examples/fetch"

work="${BENCH_DIR:-$HOME/.cache/model-manager/bench}"
mkdir -p "$work/www" "$work/out"
modes="${BENCH_MODES:-http capped https https-capped}"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
declare -A ports=([http]="$(free_port)" [capped]="$(free_port)" [https]="$(free_port)" [https-capped]="$(free_port)")
# A throwaway CA and a certificate for 127.0.0.1, trusted by every client through its option
# or SSL_CERT_FILE (our engine's rustls reads the system roots, which that variable replaces).
if [ ! -f "$work/ca.pem" ]; then
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 30 \
    -subj /CN=bench-ca -keyout "$work/ca.key" -out "$work/ca.pem" 2>/dev/null
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj /CN=127.0.0.1 \
    -keyout "$work/tls.key" -out "$work/tls.csr" 2>/dev/null
  printf 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' >"$work/tls.ext"
  openssl x509 -req -in "$work/tls.csr" -CA "$work/ca.pem" -CAkey "$work/ca.key" -CAcreateserial \
    -days 30 -extfile "$work/tls.ext" -out "$work/tls.pem" 2>/dev/null
fi
tls="ssl_certificate $work/tls.pem; ssl_certificate_key $work/tls.key; ssl_protocols TLSv1.3;"
cat >"$work/nginx.conf" <<NGINX
worker_processes 2;
$( [ "$(id -u)" -eq 0 ] && echo "user root;" )
pid $work/nginx.pid;
error_log $work/nginx-error.log;
events { worker_connections 256; }
http {
  access_log off;
  sendfile on; tcp_nopush on;
  server { listen 127.0.0.1:${ports[http]}; root $work/www; }
  server { listen 127.0.0.1:${ports[capped]}; root $work/www; limit_rate 40m; }
  server { listen 127.0.0.1:${ports[https]} ssl; $tls root $work/www; }
  server { listen 127.0.0.1:${ports[https-capped]} ssl; $tls root $work/www; limit_rate 40m; }
}
NGINX
nginx -c "$work/nginx.conf"
trap 'nginx -c "$work/nginx.conf" -s stop 2>/dev/null || true; rm -rf "$work/out"' EXIT

# A valid safetensors file (the engine checks what it installs): one U8 tensor of random bytes.
# Files of sizes not asked for this time are removed (they only take disk space).
for old in "$work"/www/file-*g.safetensors; do
  [ -e "$old" ] || continue
  keep=; for gib in "${sizes[@]}"; do [ "$old" = "$work/www/file-${gib}g.safetensors" ] && keep=1; done
  [ -n "$keep" ] || rm -f "$old" "$old.sha256"
done
for gib in "${sizes[@]}"; do
  f="$work/www/file-${gib}g.safetensors"
  if [ ! -f "$f.sha256" ] || [ "$(stat -c %s "$f")" -ne $((gib << 30)) ]; then
    log "generating $gib GiB of random data"
    rm -f "$f" "$f.sha256"; python3 - "$f" $((gib << 30)) <<'PY'
import json, struct, sys
path, total = sys.argv[1], int(sys.argv[2])
n = total - 128
for _ in range(8):  # the header's length depends on the number it holds: find the fixed point
    header = json.dumps({"weight": {"dtype": "U8", "shape": [n], "data_offsets": [0, n]}})
    header += " " * (-len(header) % 8)
    n = total - 8 - len(header)
assert 8 + len(header) + n == total and str(n) in header
open(path, "wb").write(struct.pack("<Q", len(header)) + header.encode())
PY
    (openssl enc -aes-128-ctr -pass pass:bench -nosalt -pbkdf2 </dev/zero 2>/dev/null || true) | head -c $(( (gib << 30) - $(stat -c %s "$f") )) >>"$f"
    sha256sum "$f" | cut -d' ' -f1 >"$f.sha256"
  fi
done

# CPU seconds the whole machine has been busy, and nginx's processes (master and workers).
hz=$(getconf CLK_TCK)
machine_cpu() { awk -v hz="$hz" '/^cpu / { print ($2 + $3 + $4 + $7 + $8 + $9) / hz }' /proc/stat; }
nginx_cpu() {
  local master; master=$(cat "$work/nginx.pid")
  for pid in "$master" $(pgrep -P "$master"); do cat "/proc/$pid/stat"; done |
    awk -v hz="$hz" '{ t += $14 + $15 } END { print t / hz }'
}

# run NAME SIZE CMD... : one timed run; appends "mode name size seconds cpu rss_kb machine_cpu"
# to results (machine_cpu: the whole machine's busy CPU seconds minus nginx's).
results="$work/results.txt"; : >"$results"
run() {
  local name="$1" gib="$2"; shift 2
  case "$name" in disk|sha-256) ;; *) echo "$name" | grep -qE "${BENCH_TOOLS:-.}" || return 0;; esac
  rm -rf "$work/out"; mkdir -p "$work/out"
  sync; echo 3 >/proc/sys/vm/drop_caches 2>/dev/null || true
  [ "$name" = disk ] || cat "$served" >/dev/null
  local t0 t1 m0 m1 n0 n1
  m0=$(machine_cpu); n0=$(nginx_cpu); t0=$(date +%s.%N)
  /usr/bin/time -f '%U %S %M' -o "$work/time.txt" "$@" >/dev/null 2>"$work/err.txt" || { echo "$name failed:"; cat "$work/err.txt"; return 1; }
  sync -f "$work/out" 2>/dev/null || sync
  t1=$(date +%s.%N); m1=$(machine_cpu); n1=$(nginx_cpu)
  read -r user sys rss <"$work/time.txt"
  awk -v m="$mode" -v n="$name" -v g="$gib" -v a="$t0" -v b="$t1" -v u="$user" -v s="$sys" -v r="$rss" \
    -v w="$(echo "$m1 - $m0 - ($n1 - $n0)" | bc -l)" \
    'BEGIN { printf "%s %s %s %.3f %.2f %s %.2f\n", m, n, g, b - a, u + s, r, w }' >>"$results"
}

export SSL_CERT_FILE="$work/ca.pem"
for gib in "${sizes[@]}"; do
  served="$work/www/file-${gib}g.safetensors"
  sha="$(cat "$served.sha256")"
  for r in $(seq 1 "$reps"); do
    mode=disk; run disk "$gib" dd if=/dev/zero of="$work/out/f" bs=1M count=$((gib << 10)) conv=fdatasync
    mode=hash; run sha-256 "$gib" openssl dgst -sha256 "$served"
    for mode in $modes; do
      scheme=http; case "$mode" in https*) scheme=https;; esac
      url="$scheme://127.0.0.1:${ports[$mode]}/file-${gib}g.safetensors"
      log "$mode, $gib GiB, repetition $r of $reps"
      run "model-manager(verified)" "$gib" "$fetch" "$url" "$work/out/mm" "$sha"
      # The engine with one stream per file, as it was before ranged transfers.
      [ "$mode" = http ] && run "model-manager(1-stream)" "$gib" env MODELS_DOWNLOAD_CONNECTIONS=1 "$fetch" "$url" "$work/out/mm" "$sha"
      run "hf_transfer(x8)" "$gib" python3 -c "import hf_transfer,sys; hf_transfer.download('$url', '$work/out/f', max_files=8, chunk_size=10485760, parallel_failures=3, max_retries=3)"
      run "aria2c(-x16)" "$gib" aria2c -q -x16 -s16 -k1M --file-allocation=none --ca-certificate="$work/ca.pem" -d "$work/out" -o f "$url"
      # aria2c made to verify like we do (sha-256 of the whole file when it is complete).
      run "aria2c(-x16,sha-256)" "$gib" aria2c -q -x16 -s16 -k1M --file-allocation=none --checksum="sha-256=$sha" --ca-certificate="$work/ca.pem" -d "$work/out" -o f "$url"
      # One stream through a 40 MiB/s cap is the cap by construction: measured on small files only.
      case "$mode" in *capped) [ "$gib" -gt 2 ] && continue;; esac
      run "curl" "$gib" curl -sS --cacert "$work/ca.pem" -o "$work/out/f" "$url"
      case "$mode" in *capped) ;; *)
        run "curl|tee|sha256sum" "$gib" bash -c "curl -sS --cacert '$work/ca.pem' '$url' | tee '$work/out/f' | sha256sum | grep -q '^$sha '";;
      esac
    done
  done
done

python3 - "$results" <<'PY'
import statistics, sys, collections
rows = collections.defaultdict(list)
for line in open(sys.argv[1]):
    mode, name, gib, secs, cpu, rss, machine = line.split()
    rows[(mode, int(gib), name)].append((float(secs), float(cpu), int(rss), float(machine)))
med = lambda runs, i: statistics.median(r[i] for r in runs)
mibs = lambda gib, runs: gib * 1024 / med(runs, 0)
print(f"\n{'mode':<14}{'tool':<26}{'size':>6}{'MiB/s':>8}{'CPU s':>8}{'CPU s/GiB':>10}{'machine s/GiB':>14}{'peak RSS MiB':>14}{'vs best peer':>14}")
print(f"{'':<64}(server excluded)")
for (mode, gib) in sorted({(m, g) for m, g, _ in rows if m not in ('disk', 'hash')}):
    here = {n: r for (m, g, n), r in rows.items() if m == mode and g == gib}
    peers = [mibs(gib, r) for n, r in here.items() if not n.startswith('model-manager')]
    best = max(peers) if peers else None
    for name, runs in sorted(here.items(), key=lambda kv: -mibs(gib, kv[1])):
        speed = mibs(gib, runs)
        ratio = f"{speed / best:.2f}x" if best else "-"
        print(f"{mode:<14}{name:<26}{gib:>4}G {speed:>8.0f}{med(runs, 1):>8.1f}{med(runs, 1) / gib:>10.2f}{med(runs, 3) / gib:>14.2f}{max(r[2] for r in runs) / 1024:>14.1f}{ratio:>14}")
    if 'capped' in mode and ('disk', gib, 'disk') in rows:
        disk = mibs(gib, rows[('disk', gib, 'disk')])
        bound = min(disk, 16 * 40)
        ours = [mibs(gib, r) for n, r in here.items() if n.startswith('model-manager')]
        if ours:
            print(f"{'':<14}disk {disk:.0f} MiB/s, 16 connections x 40 MiB/s = 640: ours is {ours[0] / bound:.2f}x min(disk, connections x cap)")
    cpu = {n: med(r, 1) / gib for n, r in here.items()}
    if mode.startswith('https') and 'model-manager(verified)' in cpu and 'aria2c(-x16)' in cpu:
        ours, raw, checked = cpu['model-manager(verified)'], cpu['aria2c(-x16)'], cpu.get('aria2c(-x16,sha-256)')
        line = f"CPU s/GiB: ours {ours:.2f} (hashing included) vs aria2c {raw:.2f} ({ours / raw:.2f}x)"
        if ('hash', gib, 'sha-256') in rows:
            hashing = med(rows[('hash', gib, 'sha-256')], 1) / gib
            line += f"; sha-256 alone (openssl) {hashing:.2f}, so aria2c then openssl {raw + hashing:.2f} ({ours / (raw + hashing):.2f}x)"
        if checked:
            line += f"; aria2c verifying sha-256 {checked:.2f} ({ours / checked:.2f}x)"
        print(f"{'':<14}{line}")
PY
