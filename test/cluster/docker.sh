#!/usr/bin/env bash
# A Docker engine of the harness's own (Debian's docker.io): `docker.sh start` runs dockerd with
# its data root in the cache (so base images and build layers survive between runs), its socket,
# exec root and pid under the run folder, no bridge and no iptables rules (builds use the host
# network); `docker.sh stop` ends it by its pid and removes the cgroups and run folders it made.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
d="$run_dir/docker"

start() {
  [ -x "$dockerd_bin" ] || die "$dockerd_bin missing (apt-get install docker.io)"
  if [ -f "$d/pid" ] && kill -0 "$(cat "$d/pid")" 2>/dev/null; then return 0; fi
  snapshot_host
  mkdir -p "$d" "$cache_home/docker"
  # What stop may remove: only what was absent before.
  for c in /sys/fs/cgroup/*/docker /sys/fs/cgroup/docker /run/containerd /run/docker /etc/docker/key.json; do
    [ -e "$c" ] && echo "$c"
  done > "$d/present-before" || true
  nohup "$dockerd_bin" --data-root "$cache_home/docker" --exec-root "$d/exec" --pidfile "$d/dockerd.pid" \
    --host "unix://$docker_sock" --bridge none --iptables=false --ip6tables=false --ip-masq=false \
    --ip-forward=false --userland-proxy=false --log-level warn >"$d/dockerd.log" 2>&1 &
  echo $! > "$d/pid"
  for _ in $(seq 1 60); do dk version >/dev/null 2>&1 && { say "dockerd up (pid $(cat "$d/pid"))"; return 0; }; sleep 1; done
  tail -20 "$d/dockerd.log" >&2
  die "dockerd did not answer on $docker_sock"
}

stop() {
  [ -f "$d/pid" ] || return 0
  local pid; pid="$(cat "$d/pid")"
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid"
    for _ in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
    kill -0 "$pid" 2>/dev/null && { kill -KILL "$pid"; echo "docker: killed dockerd $pid" >&2; }
  fi
  # dockerd leaves its view of the host's netns bind-mounted in its exec root.
  { grep -F " $d/" /proc/self/mountinfo || true; } | awk '{print $5}' | sort -r | while read -r m; do umount "$m"; done
  for c in /sys/fs/cgroup/*/docker /sys/fs/cgroup/docker; do
    [ -d "$c" ] && ! grep -qx "$c" "$d/present-before" && find "$c" -depth -type d -exec rmdir {} \; 2>/dev/null
  done
  grep -qx /etc/docker/key.json "$d/present-before" || rm -f /etc/docker/key.json
  # The managed containerd puts shim sockets in /run/containerd/s whatever its root.
  grep -qx /run/containerd "$d/present-before" || rmdir /run/containerd/s /run/containerd/fifo /run/containerd 2>/dev/null || true
  # dockerd's plugin and netns folders under /run/docker, whatever its exec root.
  grep -qx /run/docker "$d/present-before" || find /run/docker -depth -type d -empty -delete 2>/dev/null || true
  rm -f "$d/pid"
  say "dockerd stopped"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: docker.sh start|stop" >&2; exit 2 ;;
esac
