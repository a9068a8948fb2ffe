#!/usr/bin/env bash
# The README's Quick start on a new Debian 12 machine, as a new user would try it: a fresh
# Debian 12 root made with debootstrap, git installed, this repository cloned into root's home
# directory, then the two Quick start commands' setup and tests. Prints the time of each step.
# Run as root on Debian; it needs the network this machine has (Debian's mirror, the npm
# registry) and about 3 GB of disk. Everything lives under one folder, removed at the end.
#   PORTHOLE_TRIAL_DIR   where the root goes (default: a new folder under /var/tmp)
#   PORTHOLE_TRIAL_KEEP  set to keep the root afterwards (to look around in it)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
root=${PORTHOLE_TRIAL_DIR:-$(mktemp -d /var/tmp/porthole-fresh-XXXXXX)}
# This machine's own Debian mirror, as its apt uses it.
mirror=$(grep -hoE '^URIs: \S+' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -n1 | cut -d' ' -f2 || true)
[[ -n $mirror ]] || { echo "trial: no Debian mirror in /etc/apt/sources.list.d/debian.sources" >&2; exit 1; }

step() { echo "trial: [$(date +%T)] $*"; }
timed() {
  local what=$1 started=$SECONDS
  shift
  step "$what"
  "$@"
  step "$what: done in $((SECONDS - started)) s"
}
cleanup() {
  if [[ -z ${PORTHOLE_TRIAL_KEEP:-} ]]; then rm -rf --one-file-system "$root"; else step "kept $root"; fi
}
trap cleanup EXIT

command -v debootstrap >/dev/null || { step "installing debootstrap"; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null; }
quietly() { "$@" >/dev/null; }
timed "debootstrap bookworm from $mirror" quietly debootstrap --variant=minbase bookworm "$root" "$mirror"
# The same sources as this machine (security updates included), instead of debootstrap's one line.
cp /etc/apt/sources.list.d/debian.sources "$root/etc/apt/sources.list.d/" && rm -f "$root/etc/apt/sources.list"
cp /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
# This machine's package traffic goes through its own certificate authority: the new machine
# trusts it as the host does (for npm, and Node's own HTTPS).
cp /etc/ssl/certs/ca-certificates.crt "$root/etc/porthole-host-ca.crt"
# ...and as a Debian administrator installs such an authority (update-ca-certificates runs when
# ca-certificates is installed below): the container image's base takes it from there.
if compgen -G '/usr/local/share/ca-certificates/*.crt' >/dev/null; then
  mkdir -p "$root/usr/local/share/ca-certificates"
  cp /usr/local/share/ca-certificates/*.crt "$root/usr/local/share/ca-certificates/"
fi
# Each step runs with the new root as the root of its own mount namespace (pivot_root), as a
# booted machine has it. A chroot is not enough: libvirt's QEMU launcher needs the root to be a
# mount point ("Failed disable mount propagation"), and `podman exec` from a chroot lands in the
# host's root instead of the container's ("chdir to cwd /app ... no such file or directory").
# /proc, /sys, the host's cgroups (podman needs them) and /dev are mounted as a booted machine
# has them; all of it goes when the step ends.
in_root() {
  unshare --mount --propagation private bash -c '
    set -e
    root=$1
    mount --bind "$root" "$root"
    mount -t proc proc "$root/proc"
    mount -t sysfs sysfs "$root/sys"
    mount --rbind /sys/fs/cgroup "$root/sys/fs/cgroup"
    mount --rbind /dev "$root/dev"
    cd "$root" && mkdir -p .host && pivot_root . .host && umount -l /.host && rmdir /.host
    exec /usr/bin/env -i HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
      NODE_EXTRA_CA_CERTS=/etc/porthole-host-ca.crt npm_config_cafile=/etc/porthole-host-ca.crt CI=true bash -lc "$2"
  ' trial "$root" "$1"
}
timed "installing git" in_root 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq git ca-certificates >/dev/null'
git clone -q "$repo" "$root/root/porthole"
chmod 0700 "$root/root"
timed "bash scripts/setup.sh" in_root 'cd /root/porthole && bash scripts/setup.sh'
timed "npm test" in_root 'cd /root/porthole && npm test'
step "the Quick start held on a fresh Debian 12 root with the checkout in root's home"
