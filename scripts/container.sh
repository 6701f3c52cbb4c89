#!/usr/bin/env bash
# The container image, with podman (or Docker: see the README's "Container" section).
#   container.sh stage   copy the release server and site (scripts/build-site.sh release) to dist/
#   container.sh build   stage, then build the image model-manager:latest
#   container.sh run     run it: port 127.0.0.1:${PORT:-3000}, volume model-manager-models;
#                        MODELS_AUTH_TOKEN, HF_TOKEN and CIVITAI_TOKEN are passed on when set
#   container.sh smoke   build, then test the running image (part of scripts/test.sh)
# These machines reach no image registry: the Debian base image is made locally with
# debootstrap when podman does not have it (../shared/guide/container.md).
source "$(dirname "$0")/env.sh"
export CONTAINERS_CONF="$ROOT/scripts/containers.conf"
IMAGE="${IMAGE:-model-manager:latest}"
BASE="docker.io/library/debian:bookworm-slim"

stage() {
  local server="$CARGO_TARGET_DIR/release/model-manager"
  # The site names its content-hashed bundle in hash.txt (scripts/hash-assets.mjs).
  if [ ! -x "$server" ] || [ ! -f "$SITE_DIR/hash.txt" ]; then
    echo "no release build in $CARGO_TARGET_DIR: run scripts/build-site.sh release first" >&2
    exit 1
  fi
  rm -rf "$ROOT/dist"
  mkdir -p "$ROOT/dist"
  cp "$server" "$ROOT/dist/model-manager"
  cp -r "$SITE_DIR" "$ROOT/dist/site"
}

# The Debian mirror apt already uses (never a hard-coded host).
debian_mirror() {
  cat /etc/apt/sources.list /etc/apt/sources.list.d/* 2>/dev/null \
    | sed -nE 's#^(URIs:|deb( \[[^]]*\])?)[[:space:]]+(https?://[^ ]*/debian)/?([[:space:]].*)?$#\3#p' \
    | head -1 || true
}

# debian:bookworm-slim under the name a user's Docker would pull, made offline once.
base_image() {
  podman image exists "$BASE" && return 0
  local mirror rootfs
  mirror="$(debian_mirror)"
  [ -n "$mirror" ] || { echo "no Debian mirror found in /etc/apt/sources.list*" >&2; exit 1; }
  log "making $BASE with debootstrap from $mirror (once per machine, about a minute)"
  rootfs="$(mktemp -d)"
  debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >/dev/null
  printf 'deb %s bookworm main\ndeb %s bookworm-updates main\ndeb %s-security bookworm-security main\n' \
    "$mirror" "$mirror" "$mirror" >"$rootfs/etc/apt/sources.list"
  rm -rf "$rootfs"/usr/share/{doc,man,locale,info}/* "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*
  tar --numeric-owner -C "$rootfs" -c . | podman import --change 'CMD ["/bin/bash"]' - "$BASE" >/dev/null
  rm -rf "$rootfs"
}

build() {
  "$ROOT/scripts/setup.sh" container
  base_image
  stage
  log "podman build $IMAGE"
  # Docker's image format: OCI images have no HEALTHCHECK.
  podman build --pull=never --format docker -t "$IMAGE" "$ROOT"
}

run() {
  podman run -d --name "${NAME:-model-manager}" --pull=never --init --read-only \
    -p "127.0.0.1:${PORT:-3000}:3000" -v "${VOLUME:-model-manager-models}:/workspace/models" \
    -e MODELS_AUTH_TOKEN -e HF_TOKEN -e CIVITAI_TOKEN "$IMAGE"
}

case "${1:-}" in
  stage) stage ;;
  build) build ;;
  run) run ;;
  smoke) build; exec "$ROOT/scripts/container-smoke.sh" ;;
  *) echo "usage: $0 stage|build|run|smoke" >&2; exit 2 ;;
esac
