#!/usr/bin/env bash
# Installs Node.js 20 from nodejs.org's latest 20.x release, checked against the SHA-256 that
# the release publishes, into /usr/local: Debian 12 ships Node.js 18, and Porthole needs 20.
# Run as root by scripts/setup.sh when Node.js 20 is missing.
#   PORTHOLE_NODE_DIST    where the release is (a mirror), default https://nodejs.org/dist/latest-v20.x
#   PORTHOLE_NODE_PREFIX  where it goes, default /usr/local
set -euo pipefail
dist=${PORTHOLE_NODE_DIST:-https://nodejs.org/dist/latest-v20.x}
prefix=${PORTHOLE_NODE_PREFIX:-/usr/local}

case $(uname -m) in
  x86_64) arch=x64 ;;
  aarch64) arch=arm64 ;;
  *) echo "install-node: nodejs.org has no Node.js 20 build for $(uname -m); install Node.js 20 yourself." >&2; exit 1 ;;
esac

need=()
for tool in curl xz sha256sum; do command -v "$tool" >/dev/null || need+=("$tool"); done
if ((${#need[@]})); then
  echo "install-node: installing curl, xz-utils and ca-certificates"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ca-certificates curl xz-utils coreutils >/dev/null
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "install-node: fetching the Node.js 20 release list from ${dist}"
curl -fsSL "${dist}/SHASUMS256.txt" -o "${work}/SHASUMS256.txt"
tarball=$(grep -o "node-v20\.[0-9.]*-linux-${arch}\.tar\.xz" "${work}/SHASUMS256.txt" | head -n1 || true)
if [[ -z ${tarball} ]]; then
  echo "install-node: ${dist}/SHASUMS256.txt names no Node.js 20 build for linux-${arch}." >&2
  exit 1
fi
echo "install-node: downloading ${tarball}"
curl -fsSL "${dist}/${tarball}" -o "${work}/${tarball}"
if ! (cd "${work}" && grep " ${tarball}\$" SHASUMS256.txt | sha256sum -c --quiet - >/dev/null 2>&1); then
  echo "install-node: ${tarball} does not match the SHA-256 published with it; nothing was installed." >&2
  exit 1
fi
mkdir -p "${prefix}"
tar -xJf "${work}/${tarball}" -C "${prefix}" --strip-components=1 --no-same-owner \
  --exclude='*/CHANGELOG.md' --exclude='*/LICENSE' --exclude='*/README.md'
echo "install-node: installed $("${prefix}/bin/node" --version) in ${prefix}"
