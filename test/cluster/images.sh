#!/usr/bin/env bash
# The images the cluster runs, made with the harness's dockerd and nothing pulled from a registry,
# written as `docker save` archives into $1 for up.sh to import:
#   modelchain.tar  `make image` of the project's Dockerfile (unchanged) on base-image.sh's base,
#                   built with the host network; smoke-run as the chart runs it before saving
#   pause.tar       the Pod sandbox: assets/build.sh's static pause alone in a rootfs
#   serving.tar     two revisions of a small serving image (Debian's busybox-static, `httpd`), for
#                   a ModelDeployment that really rolls out on a 2-core node
set -euo pipefail
source "$(dirname "$0")/lib.sh"
out="${1:?usage: images.sh <output dir>}"
image="${IMAGE:-modelchain:e2e}"
node="$("$cluster_dir/assets/build.sh")"
mkdir -p "$out"
# Build containers a killed run left behind (the dockerd is the harness's own).
dk container prune --force >/dev/null
"$cluster_dir/base-image.sh"
previous="$(dk images -q "$image")"
t=$SECONDS
DOCKER_HOST="unix://$docker_sock" nice -n 10 make -C "$root" --no-print-directory image IMAGE="$image" \
  DOCKER="$docker_bin" DOCKER_BUILD_FLAGS="--network=host" >"$run_dir/logs-image-build.log" 2>&1 ||
  { tail -30 "$run_dir/logs-image-build.log" >&2; die "make image failed"; }
say "make image: $image built in $((SECONDS - t)) s"
# As the chart runs it: uid 65532, read-only root, a writable /tmp only, no network.
run=(dk run --rm --network none --read-only --user 65532:65532 --tmpfs /tmp:rw,size=64m,mode=1777 "$image")
# Captured, not piped into `grep -q`: grep stops reading at the first match, and under pipefail the
# docker client's write to the closed pipe then fails the check (seen in CI as "broken pipe").
help="$("${run[@]}" --help)" || die "the image's --help exited non-zero"
grep -q "^Usage: modelchain" <<<"$help" || die "the image's --help does not print the usage"
"${run[@]}" demo --state-dir /tmp/demo | tail -1 | grep -q . || die "demo failed in the image"
say "image smoke: --help and demo ran as 65532 on a read-only root"

work="$(mktemp -d "$run_dir/images.XXXXXX")"
mkdir -p "$work/pause"
install -m 0755 "$node/pause" "$work/pause/pause"
tar --numeric-owner --owner=0 --group=0 -C "$work/pause" -c pause |
  dk import --change 'ENTRYPOINT ["/pause"]' --change 'USER 65535:65535' - "$pause_image" >/dev/null
busybox="$(command -v busybox || true)"
[ -n "$busybox" ] && ! ldd "$busybox" >/dev/null 2>&1 || die "needs a static busybox (Debian's busybox-static)"
r="$work/serving"
mkdir -p "$r/bin" "$r/etc" "$r/tmp" "$r/www"
install -m 0755 "$busybox" "$r/bin/busybox"
for a in sh httpd sleep cat; do ln -s busybox "$r/bin/$a"; done
printf 'root:x:0:0::/:/bin/sh\nnobody:x:65534:65534::/:/bin/sh\n' > "$r/etc/passwd"
chmod 1777 "$r/tmp"
for rev in 1 2; do
  echo "serving revision $rev" > "$r/www/index.html"
  tar --numeric-owner --owner=0 --group=0 -C "$r" -c . |
    dk import --change 'WORKDIR /www' --change 'CMD ["sh"]' - "localhost/e2e-serving:$rev" >/dev/null
done
dk save "$pause_image" -o "$out/pause.tar"
dk save localhost/e2e-serving:1 localhost/e2e-serving:2 -o "$out/serving.tar"
dk save "$image" -o "$out/modelchain.tar"
rm -rf "$work"
# The image this build replaced (its layers shared with the new one stay: they are its parents);
# the build stages' images stay too, as the layer cache of the next build.
[ -z "$previous" ] || [ "$previous" = "$(dk images -q "$image")" ] || dk rmi "$previous" >/dev/null 2>&1 || true
say "images saved in $out"
