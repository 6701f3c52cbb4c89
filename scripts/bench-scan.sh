#!/usr/bin/env bash
# Volume scan benchmark (not a test), against the release server:
#   1. FILES small LoRA files (real kohya key names) plus BIG_FILES files of BIG_MIB MiB each,
#      spread over MODELS_DIR and one extra root (MODELS_SCAN_DIRS);
#   2. the first scan: time to list and identify every file (metadata only), then hashing
#      speed compared with `sha256sum` over the same files (both from the page cache);
#   3. a rescan of the unchanged files: bytes the server process read (/proc/PID/io rchar,
#      which also counts the database and HTTP requests), headers read and bytes hashed.
#   scripts/bench-scan.sh [FILES] [BIG_FILES] [BIG_MIB]      default: 1000 4 512
source "$(dirname "$0")/env.sh"
files="${1:-1000}"; big_files="${2:-4}"; big_mib="${3:-512}"
server="$CARGO_TARGET_DIR/release/model-manager"
[ -x "$server" ] || { log "building the release server"; (cd "$ROOT" && cargo build --release -p server -q); }

work="$(mktemp -d "${BENCH_DIR:-/tmp}/bench-scan.XXXXXX")"
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
models="$work/models"; extra="$work/comfy"
mkdir -p "$models/loras" "$extra/checkpoints"

log "writing $files small model files and $big_files x $big_mib MiB files"
python3 - "$models/loras" "$extra/checkpoints" "$files" "$big_files" "$big_mib" <<'EOF'
import json, os, struct, sys
small_dir, big_dir, n, big_n, big_mib = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
def write(path, tensors, data_bytes):
    header, offset = {}, 0
    for name, shape in tensors:
        size = 2
        for d in shape: size *= d
        header[name] = {"dtype": "F16", "shape": shape, "data_offsets": [offset, offset + size]}
        offset += size
    header["__metadata__"] = {"ss_network_module": "networks.lora_flux"}
    raw = json.dumps(header).encode()
    raw += b" " * ((8 - len(raw) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(raw)) + raw)
        left = offset
        chunk = os.urandom(1 << 20)
        while left > 0:
            f.write(chunk[: min(left, len(chunk))]); left -= min(left, len(chunk))
for i in range(n):
    write(os.path.join(small_dir, f"lora_{i:05}.safetensors"),
          [(f"lora_unet_double_blocks_{i % 19}_img_attn_proj.lora_down.weight", [4, 3072]),
           (f"lora_unet_double_blocks_{i % 19}_img_attn_proj.lora_up.weight", [3072, 4])], 0)
for i in range(big_n):
    elements = big_mib * (1 << 20) // 2
    write(os.path.join(big_dir, f"big_{i}.safetensors"),
          [("model.diffusion_model.double_blocks.0.img_attn.norm.key_norm.scale", [elements])], 0)
EOF
total_bytes=$(du -sb "$models" "$extra" | awk '{s+=$1} END {print s}')

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
port="$(free_port)"
MODELS_DIR="$models" MODELS_SCAN_DIRS="$extra" LEPTOS_SITE_ADDR="127.0.0.1:$port" \
  LEPTOS_SITE_ROOT="$SITE_DIR" "$server" serve >"$work/server.log" 2>&1 &
pid=$!
for _ in $(seq 1 100); do curl -fsS -o /dev/null "http://127.0.0.1:$port/healthz" 2>/dev/null && break; sleep 0.1; done
base="http://127.0.0.1:$port/api/models/scan"

rchar() { awk '/^rchar/ {print $2}' "/proc/$pid/io"; }
field() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
now() { date +%s.%N; }
# scan: starts a scan; prints "listing_seconds total_seconds" once it is done.
scan() {
  local start listed="" phase
  start=$(now)
  curl -fsS -X POST "$base" -o /dev/null
  while :; do
    phase=$(curl -fsS "$base" | field '["phase"]')
    if [ -z "$listed" ] && [ "$phase" != listing ]; then listed=$(now); fi
    [ "$phase" = done ] && break
    [ "$phase" = failed ] && { curl -fsS "$base" >&2; exit 1; }
    sleep 0.02
  done
  python3 -c "print(f'{$listed-$start:.3f} {$(now)-$start:.3f}')"
}

log "sha256sum over the same files (page cache warmed first)"
cat "$extra"/checkpoints/* "$models"/loras/* >/dev/null
sum_start=$(now)
sha256sum "$extra"/checkpoints/* "$models"/loras/* >/dev/null
sum_secs=$(python3 -c "print($(now)-$sum_start)")

log "first scan"
read -r list1 total1 <<<"$(scan)"
status=$(curl -fsS "$base")
untracked=$(echo "$status" | field '["untracked"].__len__()')
hashed=$(echo "$status" | field '["bytesHashed"]')
hash_secs=$(python3 -c "print($total1-$list1)")

log "rescan of the unchanged files"
before=$(rchar)
read -r list2 total2 <<<"$(scan)"
after=$(rchar)
status=$(curl -fsS "$base")
db_bytes=$(stat -c %s "$models/installed-models.json")

python3 - <<EOF
mib = 1 << 20
print(f"files: {$untracked} untracked ({$total_bytes / mib:.0f} MiB)")
print(f"first scan: listed and identified in {$list1:.3f} s (target < 2 s); hashed {$hashed / mib:.0f} MiB in {$hash_secs:.2f} s = {$hashed / mib / max($hash_secs, 1e-9):.0f} MiB/s")
print(f"sha256sum: {$total_bytes / mib:.0f} MiB in {$sum_secs:.2f} s = {$total_bytes / mib / max($sum_secs, 1e-9):.0f} MiB/s; ours / sha256sum = {($hashed / max($hash_secs, 1e-9)) / ($total_bytes / max($sum_secs, 1e-9)):.2f} (target >= 0.9)")
print(f"rescan: {$total2:.3f} s; headers read {$(echo "$status" | field '["headersRead"]')}, bytes hashed {$(echo "$status" | field '["bytesHashed"]')}")
print(f"rescan: server process read {$after - $before} bytes in all (rchar: database {$db_bytes} bytes, read and re-read, and HTTP); model file data: 0 of {$total_bytes}")
EOF
