#!/usr/bin/env bash
# Make a fresh Debian/Ubuntu machine ready for kb's test suite:
#   1. a Docker engine that answers (Debian's docker.io + dockerd, if none runs),
#   2. the base image debian:bookworm-slim (pulled, or built locally with debootstrap
#      when no registry is reachable),
#   3. Debian's chromium + chromium-driver for the browser tests.
# Idempotent: every step checks first and does nothing when the machine is ready.
# Messages go to stderr so the test output stays readable.
set -euo pipefail

say() { printf 'setup: %s\n' "$*" >&2; }

apt_updated=0
apt_install() {
  if [ "$apt_updated" = 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
    apt_updated=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >&2
}

need_root() {
  if [ "$(id -u)" != 0 ]; then
    say "$1 needs root (apt-get); run this script as root or set the machine up by hand"
    exit 2
  fi
}

# --- 1. Docker engine -------------------------------------------------------
if docker info >/dev/null 2>&1; then
  say "docker engine answers"
else
  if ! command -v dockerd >/dev/null 2>&1; then
    need_root "installing docker.io"
    say "installing Debian's docker.io (dockerd)"
    apt_install docker.io iptables
  fi
  if ! docker info >/dev/null 2>&1; then
    say "starting dockerd (log: /var/log/kb-dockerd.log)"
    nohup dockerd >/var/log/kb-dockerd.log 2>&1 &
    for _ in $(seq 1 60); do
      docker info >/dev/null 2>&1 && break
      sleep 1
    done
    docker info >/dev/null 2>&1 || { say "dockerd did not start; see /var/log/kb-dockerd.log"; tail -20 /var/log/kb-dockerd.log >&2; exit 2; }
  fi
fi

# --- 2. Base image ------------------------------------------------------------
if docker image inspect debian:bookworm-slim >/dev/null 2>&1; then
  say "image debian:bookworm-slim present"
elif timeout 30 docker pull -q debian:bookworm-slim >/dev/null 2>&1; then
  say "pulled debian:bookworm-slim"
else
  need_root "debootstrap"
  say "debian:bookworm-slim cannot be pulled: building it locally with debootstrap (about a minute)"
  command -v debootstrap >/dev/null 2>&1 || apt_install debootstrap
  # Use the machine's own Debian mirror (first URIs: line of its apt sources).
  mirror=$(grep -hE '^\s*URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}' | grep -v security | head -1 || true)
  [ -n "$mirror" ] || mirror=$(grep -hE '^deb ' /etc/apt/sources.list 2>/dev/null | awk '{print $2}' | head -1 || true)
  [ -n "$mirror" ] || { say "no Debian mirror found in /etc/apt sources"; exit 2; }
  rootfs=$(mktemp -d /tmp/kb-rootfs.XXXXXX)
  debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >/tmp/kb-debootstrap.log 2>&1 \
    || { say "debootstrap failed; see /tmp/kb-debootstrap.log"; tail -20 /tmp/kb-debootstrap.log >&2; exit 2; }
  # Slim it like the official image: no apt lists, no docs.
  rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/var/cache/apt/*.bin
  tar -C "$rootfs" -c . | docker import -c 'CMD ["bash"]' - debian:bookworm-slim >/dev/null
  rm -rf "$rootfs"
  say "imported debian:bookworm-slim"
fi

# --- 3. Browser for the UI tests ---------------------------------------------
if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then
  say "chromium + chromedriver present"
else
  need_root "installing chromium"
  say "installing Debian's chromium + chromium-driver"
  apt_install chromium chromium-driver fonts-noto-cjk
fi
say "machine ready"
