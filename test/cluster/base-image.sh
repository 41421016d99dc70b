#!/usr/bin/env bash
# A local node:24-bookworm-slim for the Dockerfile's FROM, with nothing pulled from a registry:
# Debian bookworm minbase (debootstrap, from the apt mirror this machine uses) trimmed like the
# slim image, the Node 24 binary the npm package `node` installed, npm from the npm registry, and
# the machine's extra CA certificates (so `npm ci` in the build trusts what this machine trusts).
# Imported into the harness's dockerd (docker.sh) unless an image of the same inputs is there.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
tag=node:24-bookworm-slim
node_bin="$root/node_modules/node/bin/node"
node_version="$("$node_bin" --version)"; node_version="${node_version#v}"
npm_version=11.19.0   # the npm Node 24.21 bundles
base="$cache_home/base"
mkdir -p "$base"
cas=(/usr/local/share/ca-certificates/*.crt)
[ -e "${cas[0]}" ] || cas=()
inputs="$( { echo "node $node_version npm $npm_version"; sha256sum "$node_bin" "$0" ${cas[@]+"${cas[@]}"}; } | sha256sum | cut -c1-16)"
if [ "$(dk image inspect -f '{{index .Config.Labels "modelchain.base-inputs"}}' "$tag" 2>/dev/null)" = "$inputs" ]; then
  say "base image $tag is current"
  exit 0
fi

rootfs="$base/bookworm-minbase"
if [ ! -x "$rootfs/bin/sh" ]; then
  mirror="$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/*.sources 2>/dev/null)"
  [ -n "$mirror" ] || mirror="$(awk '/^deb /{print $2; exit}' /etc/apt/sources.list 2>/dev/null)"
  [ -n "$mirror" ] || die "no Debian mirror in the apt sources"
  rm -rf "$rootfs.tmp"
  nice -n 10 debootstrap --variant=minbase bookworm "$rootfs.tmp" "$mirror" >"$base/debootstrap.log" 2>&1 ||
    { tail -20 "$base/debootstrap.log" >&2; die "debootstrap failed"; }
  mv "$rootfs.tmp" "$rootfs"
  say "debootstrap done"
fi
[ -f "$base/npm-$npm_version.tgz" ] || (cd "$base" && npm pack -q "npm@$npm_version" >/dev/null)

# A copy to dress, so the debootstrapped tree stays reusable.
r="$base/image-rootfs"
rm -rf "$r" && cp -a "$rootfs" "$r"
rm -rf "$r"/usr/share/doc/* "$r"/usr/share/man/* "$r"/usr/share/info/* "$r"/usr/share/lintian/* \
  "$r"/var/lib/apt/lists/* "$r"/var/cache/apt/*.bin "$r"/var/cache/apt/archives/*.deb "$r"/var/log/*.log "$r"/debootstrap
find "$r/usr/share/locale" -mindepth 1 -maxdepth 1 -not -name locale.alias -exec rm -rf {} + 2>/dev/null || true
printf 'path-exclude /usr/share/doc/*\npath-exclude /usr/share/man/*\npath-exclude /usr/share/locale/*\npath-include /usr/share/locale/locale.alias\n' \
  > "$r/etc/dpkg/dpkg.cfg.d/slim"
: > "$r/etc/hostname"
install -m 0755 "$node_bin" "$r/usr/local/bin/node"
mkdir -p "$r/usr/local/lib/node_modules/npm"
tar xzf "$base/npm-$npm_version.tgz" -C "$r/usr/local/lib/node_modules/npm" --strip-components=1 --no-same-owner
ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$r/usr/local/bin/npm"
ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$r/usr/local/bin/npx"
chroot "$r" groupadd --gid 1000 node
chroot "$r" useradd --uid 1000 --gid node --shell /bin/bash --create-home node
changes=(--change "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
  --change "ENV NODE_VERSION=$node_version" --change 'CMD ["node"]'
  --change "LABEL modelchain.base-inputs=$inputs")
if [ ${#cas[@]} -gt 0 ]; then
  mkdir -p "$r/usr/local/share/ca-certificates"
  cat "${cas[@]}" > "$r/usr/local/share/ca-certificates/machine-extra.pem"
  changes+=(--change "ENV NODE_EXTRA_CA_CERTS=/usr/local/share/ca-certificates/machine-extra.pem")
fi
tar --numeric-owner -C "$r" -c . | dk import "${changes[@]}" - "$tag" >/dev/null
rm -rf "$r"
dk run --rm --network none "$tag" sh -c 'node --version && npm --version' | tr '\n' ' ' >&2
say "base image $tag imported"
