#!/usr/bin/env bash
# A Docker engine and a tiny image for the Docker runtime's tests, offline (no registry).
#
# - uses the daemon on /var/run/docker.sock if it answers; otherwise starts dockerd (Debian's
#   docker.io) in the background, its log in $STATE_DIR/dockerd.log, and waits until it answers.
#   It runs without a bridge and without touching iptables: the tests' containers have no network.
# - builds $STATE_DIR/busybox-rootfs.tar: busybox-static as /bin/busybox and a symlink per applet
#   the tests use, and imports it as orbitfed-busybox:test (docker import, ENV PATH=/bin).
#
# Idempotent and safe to run concurrently (flock). Prints "ready <tarball>" and exits 0, or prints
# "unavailable: <what is missing>" and exits 3. Needs root to start dockerd.
set -euo pipefail

STATE_DIR=${ORBITFED_DOCKER_STATE_DIR:-/tmp/orbitfed-docker}
IMAGE=orbitfed-busybox:test
TARBALL=$STATE_DIR/busybox-rootfs.tar
APPLETS="sh echo cat yes head tail dd sleep true false env ls printf id wc tr seq kill"

unavailable() { echo "unavailable: $*"; exit 3; }

mkdir -p "$STATE_DIR"
exec 9>"$STATE_DIR/setup.lock"
flock -w 180 9 || unavailable "another docker-setup.sh held $STATE_DIR/setup.lock for 3 minutes"

command -v docker >/dev/null || unavailable "no docker client on PATH (apt-get install docker.io)"
answers() { timeout 10 docker version --format '{{.Server.Version}}' >/dev/null 2>&1; }

if ! answers; then
  command -v dockerd >/dev/null || unavailable "no dockerd on PATH (apt-get install docker.io)"
  [ "$(id -u)" = 0 ] || unavailable "dockerd is not running and starting it needs root"
  if ! pgrep -x dockerd >/dev/null; then
    # setsid: the daemon outlives this script and the test run that called it; 9>&-: it must
    # not inherit (and so hold forever) the setup lock.
    setsid nohup dockerd --bridge=none --iptables=false --ip-masq=false \
      >"$STATE_DIR/dockerd.log" 2>&1 </dev/null 9>&- &
  fi
  for _ in $(seq 1 60); do answers && break; sleep 1; done
  answers || unavailable "dockerd did not answer within 60 s; the end of $STATE_DIR/dockerd.log: $(tail -n 5 "$STATE_DIR/dockerd.log" 2>/dev/null | tr '\n' ' ')"
fi

BUSYBOX=/bin/busybox
[ -x "$BUSYBOX" ] || unavailable "no $BUSYBOX (apt-get install busybox-static)"
if ldd "$BUSYBOX" >/dev/null 2>&1; then unavailable "$BUSYBOX is dynamically linked (apt-get install busybox-static)"; fi

if [ ! -s "$TARBALL" ] || [ "$BUSYBOX" -nt "$TARBALL" ]; then
  root=$(mktemp -d)
  trap 'rm -rf "$root"' EXIT
  mkdir -p "$root/bin" "$root/tmp" "$root/work"
  chmod 1777 "$root/tmp"
  cp "$BUSYBOX" "$root/bin/busybox"
  for applet in $APPLETS; do ln -s busybox "$root/bin/$applet"; done
  tar --numeric-owner --owner=0 --group=0 -C "$root" -cf "$TARBALL.partial" .
  mv "$TARBALL.partial" "$TARBALL"
  docker image rm -f "$IMAGE" >/dev/null 2>&1 || true
fi

if ! docker image inspect "$IMAGE" >/dev/null 2>&1; then
  docker import --change 'ENV PATH=/bin' "$TARBALL" "$IMAGE" >/dev/null
fi
echo "ready $TARBALL"
