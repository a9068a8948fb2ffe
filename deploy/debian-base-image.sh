#!/usr/bin/env bash
# Makes a Debian 12 (bookworm) base image from Debian's own packages with debootstrap and
# imports it into podman, for machines that reach Debian's mirrors and the npm registry but no
# container registry. Then:
#   podman build --build-arg BASE=localhost/porthole-debian:12 -t porthole .
#
# The root file system is cached under PORTHOLE_BASE_CACHE (default /var/tmp/porthole-base),
# keyed on what goes into it: this script, the mirror, the apt sources and the local trust
# anchors (/usr/local/share/ca-certificates: a machine behind a TLS-inspecting egress proxy needs
# them inside too, for npm). A second run with the same inputs only re-imports, or does nothing
# when podman already holds the image. Needs root (debootstrap, rootful podman).
#
#   debian-base-image.sh [TAG]     TAG defaults to localhost/porthole-debian:12
set -euo pipefail
tag=${1:-localhost/porthole-debian:12}
cache=${PORTHOLE_BASE_CACHE:-/var/tmp/porthole-base}
suite=bookworm

fail() {
  echo "debian-base-image: $1" >&2
  exit 1
}
[[ $(id -u) == 0 ]] || fail "run it as root (debootstrap and rootful podman need it)."
for tool in debootstrap podman sha256sum; do
  command -v "$tool" >/dev/null || fail "$tool is missing: apt-get install debootstrap podman"
done

# The mirror this machine's apt uses (deb822 sources first, then the one-line format).
mirror=${PORTHOLE_DEBIAN_MIRROR:-$(
  grep -hs '^URIs:' /etc/apt/sources.list.d/*.sources | awk '{print $2}' | grep -v security | head -n1
)}
mirror=${mirror:-$(grep -hs '^deb ' /etc/apt/sources.list | awk '{print $2}' | grep -v security | head -n1)}
mirror=${mirror:-http://deb.debian.org/debian}
security=$(grep -hs '^URIs:' /etc/apt/sources.list.d/*.sources | awk '{print $2}' | grep security | head -n1)
security=${security:-http://deb.debian.org/debian-security}

key=$(
  {
    cat "$0"
    echo "$mirror $security $suite"
    cat /usr/local/share/ca-certificates/*.crt 2>/dev/null || true
  } | sha256sum | cut -c1-16
)
if [[ $(podman image inspect --format '{{index .Labels "porthole.base-key"}}' "$tag" 2>/dev/null || true) == "$key" ]]; then
  echo "debian-base-image: $tag is up to date ($key)"
  exit 0
fi

tarball=$cache/debian-$suite-$key.tar
if [[ ! -s $tarball ]]; then
  mkdir -p "$cache"
  root=$(mktemp -d "$cache/root.XXXXXX")
  trap 'rm -rf "$root"' EXIT
  echo "debian-base-image: debootstrap $suite from $mirror (about a minute)"
  debootstrap --variant=minbase --include=ca-certificates "$suite" "$root" "$mirror" >"$root.log" 2>&1 ||
    fail "debootstrap failed: $(tail -n5 "$root.log")"
  rm -f "$root.log"
  cat >"$root/etc/apt/sources.list" <<EOF
deb $mirror $suite main
deb $mirror $suite-updates main
deb $security $suite-security main
EOF
  if compgen -G '/usr/local/share/ca-certificates/*.crt' >/dev/null; then
    cp /usr/local/share/ca-certificates/*.crt "$root/usr/local/share/ca-certificates/"
    chroot "$root" update-ca-certificates >/dev/null
  fi
  # Small like Debian's own images: no apt lists, caches, documentation or man pages.
  chroot "$root" apt-get clean
  rm -rf "$root"/var/lib/apt/lists/* "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/var/cache/debconf/*-old
  tar --numeric-owner -C "$root" -cf "$tarball.part" .
  mv "$tarball.part" "$tarball"
  # Older cached roots of other inputs go.
  find "$cache" -maxdepth 1 -name "debian-$suite-*.tar" ! -name "$(basename "$tarball")" -delete
fi
echo "debian-base-image: importing $tarball as $tag"
podman import --change "LABEL porthole.base-key=$key" --change 'CMD ["/bin/bash"]' "$tarball" "$tag" >/dev/null
