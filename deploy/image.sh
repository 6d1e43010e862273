#!/usr/bin/env bash
# `make image`: build the server image from deploy/Containerfile with podman (or docker when
# FLIPBOOK_ENGINE=docker). When the official base (python:3.11-slim-bookworm) cannot be pulled,
# as on a machine that reaches only package registries, a Debian 12 base with Python 3.11 is
# made with debootstrap from Debian's packages and imported as localhost/flipbook-base:bookworm.
# Usage: deploy/image.sh [TAG]   (default localhost/flipbook:dev)
set -euo pipefail
cd "$(dirname "$0")/.."

tag=${1:-localhost/flipbook:dev}
engine=${FLIPBOOK_ENGINE:-podman}
official_base=docker.io/library/python:3.11-slim-bookworm
local_base=localhost/flipbook-base:bookworm
rootfs=var/image/rootfs

sudo_if_needed() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# buildah: image-smoke.sh runs the image with it where no container runtime can start.
if ! command -v "$engine" >/dev/null || { [ "$engine" = podman ] && ! command -v buildah >/dev/null; }; then
  if [ "$engine" = podman ]; then
    echo "image: installing podman, buildah and debootstrap from Debian's packages"
    sudo_if_needed apt-get update -q >/dev/null
    sudo_if_needed env DEBIAN_FRONTEND=noninteractive apt-get install -y -q podman buildah debootstrap >/dev/null
  else
    echo "image: $engine is not installed" >&2
    exit 1
  fi
fi

base=${FLIPBOOK_BASE_IMAGE:-}
if [ -z "$base" ]; then
  if "$engine" image exists "$official_base" 2>/dev/null || timeout 60 "$engine" pull -q "$official_base" >/dev/null 2>&1; then
    base=$official_base
  elif "$engine" image exists "$local_base" 2>/dev/null; then
    base=$local_base
  else
    echo "image: $official_base cannot be pulled here; making $local_base with debootstrap"
    command -v debootstrap >/dev/null || sudo_if_needed apt-get install -y -q debootstrap >/dev/null
    sudo_if_needed rm -rf "$rootfs"
    mkdir -p "$(dirname "$rootfs")"
    sudo_if_needed debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates \
      bookworm "$rootfs" http://deb.debian.org/debian >/dev/null
    sudo_if_needed rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
    sudo_if_needed tar -C "$rootfs" -c . | "$engine" import \
      --change 'CMD ["python3"]' --change 'ENV LANG=C.UTF-8' - "$local_base" >/dev/null
    sudo_if_needed rm -rf "$rootfs"
    base=$local_base
  fi
fi

echo "image: building $tag on $base"
extra=()
if [ "$engine" = podman ]; then
  # docker format keeps HEALTHCHECK; chroot isolation runs RUN steps without an OCI runtime
  # (none can start here: no CAP_SYS_RESOURCE for its rlimits) on the host's network.
  extra=(--format docker --isolation chroot)
  # Behind a TLS-inspecting proxy pip needs the host's CA bundle to reach PyPI. It is mounted
  # over the base's own bundle during RUN steps only: no file is added to the image.
  cert=${PIP_CERT:-$(pip3 config get global.cert 2>/dev/null || true)}
  bundle=/etc/ssl/certs/ca-certificates.crt
  if [ -n "$cert" ] && [ -f "$cert" ]; then
    extra+=(--volume "$cert:$bundle:ro" --build-arg "PIP_CERT=$bundle")
  fi
fi
"$engine" build "${extra[@]}" --build-arg "BASE_IMAGE=$base" -f deploy/Containerfile -t "$tag" .
echo "image: built $tag"
