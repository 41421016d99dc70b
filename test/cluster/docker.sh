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
  # Mounts under the data root now (none, unless a killed run left a container's rootfs mounted).
  { grep -F " $cache_home/docker/" /proc/self/mountinfo || true; } | awk '{print $5}' > "$d/mounts-before"
  nohup "$dockerd_bin" --data-root "$cache_home/docker" --exec-root "$d/exec" --pidfile "$d/dockerd.pid" \
    --host "unix://$docker_sock" --bridge none --iptables=false --ip6tables=false --ip-masq=false \
    --ip-forward=false --userland-proxy=false --log-level warn >"$d/dockerd.log" 2>&1 &
  echo $! > "$d/pid"
  for _ in $(seq 1 60); do dk version >/dev/null 2>&1 && { say "dockerd up (pid $(cat "$d/pid"))"; return 0; }; sleep 1; done
  tail -20 "$d/dockerd.log" >&2
  die "dockerd did not answer on $docker_sock"
}

# Every pid in a cgroup tree (v1 hierarchies and the unified one).
pids_in() { find "$@" -name cgroup.procs -exec cat {} + 2>/dev/null | sort -u; }

# Removes a cgroup tree, deepest first, retrying while the kernel is still releasing its tasks.
remove_cgroup() {
  local c=$1
  for _ in $(seq 1 20); do
    [ -d "$c" ] || return 0
    find "$c" -depth -type d -exec rmdir {} \; 2>/dev/null || true
    [ -d "$c" ] || return 0
    sleep 0.5
  done
  echo "docker: could not remove $c (tasks: $(pids_in "$c" | tr '\n' ' '))" >&2
}

# Each step of the cleanup runs whatever the one before it met (no errexit here): a directory
# vanishing under find, or a busy cgroup, must not leave the rest of the host unrestored.
stop() {
  [ -f "$d/pid" ] || return 0
  set +e
  local pid; pid="$(cat "$d/pid")"
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid"
    for _ in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
    kill -0 "$pid" 2>/dev/null && { kill -KILL "$pid"; echo "docker: killed dockerd $pid" >&2; }
  fi
  # The managed containerd and its shims name the exec root on their command lines; build
  # containers that outlived them are found by their cgroups.
  local proc cmd left
  for proc in /proc/[0-9]*; do
    cmd="$({ tr '\0' ' ' < "$proc/cmdline"; } 2>/dev/null)"
    case "$cmd" in *"$d/exec/"*) kill -KILL "${proc#/proc/}" 2>/dev/null &&
      echo "docker: killed a leftover ${proc#/proc/} (${cmd:0:80})" >&2 ;; esac
  done
  local ours=()
  for c in /sys/fs/cgroup/*/docker /sys/fs/cgroup/docker; do
    [ -d "$c" ] && ! grep -qx "$c" "$d/present-before" && ours+=("$c")
  done
  if [ ${#ours[@]} -gt 0 ]; then
    left="$(pids_in "${ours[@]}")"
    [ -z "$left" ] || { echo "docker: killing tasks left in its cgroups: $(echo $left)" >&2; kill -KILL $left 2>/dev/null; sleep 1; }
  fi
  # dockerd leaves its view of the host's netns bind-mounted in its exec root.
  # Container rootfs mounts under the data root that this engine made and a kill left behind.
  grep -F " $cache_home/docker/" /proc/self/mountinfo | awk '{print $5}' | sort -ru |
    while read -r m; do grep -qxF "$m" "$d/mounts-before" 2>/dev/null || umount "$m" 2>/dev/null || umount -l "$m"; done
  local where=(-e " $d/")
  grep -qx /run/docker "$d/present-before" || where+=(-e " /run/docker/")
  grep -F "${where[@]}" /proc/self/mountinfo | awk '{print $5}' | sort -ru |
    while read -r m; do umount "$m" 2>/dev/null || umount -l "$m"; done
  for c in "${ours[@]}"; do remove_cgroup "$c"; done
  grep -qx /etc/docker/key.json "$d/present-before" || rm -f /etc/docker/key.json
  # The managed containerd puts shim sockets in /run/containerd/s whatever its root; dockerd its
  # plugin and netns folders under /run/docker whatever its exec root. Absent before: ours alone.
  grep -qx /run/containerd "$d/present-before" || rm -rf /run/containerd
  grep -qx /run/docker "$d/present-before" || rm -rf /run/docker
  rm -f "$d/pid"
  say "dockerd stopped"
  set -e
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: docker.sh start|stop" >&2; exit 2 ;;
esac
