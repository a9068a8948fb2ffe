#!/usr/bin/env bash
# Installs what Porthole needs on this machine: the Debian packages (when run as root on
# Debian; otherwise it names the missing ones and stops) and the npm packages.
# Used by the README's Quick start and by CI.
set -euo pipefail
cd "$(dirname "$0")/.."

mapfile -t wanted < <(grep -v '^\s*#' .ci/packages.txt | sed 's/\s.*//' | grep -v '^$')
missing=()
for pkg in "${wanted[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done

if ((${#missing[@]})); then
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
    echo "setup: installing ${#missing[@]} Debian packages with their dependencies (a few minutes on a new machine): ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # A line every 10 s with how far apt got (downloaded, unpacked, set up, of how many), so a
    # long install shows that it moves: on a new machine unpacking alone takes minutes.
    apt_log=$(mktemp /tmp/porthole-apt.XXXXXX.log)
    apt-get install -y -q "${missing[@]}" >"$apt_log" 2>&1 &
    apt_pid=$!
    while kill -0 "$apt_pid" 2>/dev/null; do
      sleep 10
      kill -0 "$apt_pid" 2>/dev/null || break
      total=$(grep -oE '[0-9]+ newly installed' "$apt_log" | cut -d' ' -f1 || true)
      echo "setup:   of ${total:-?} packages: $(grep -c '^Get:' "$apt_log") downloaded," \
        "$(grep -c '^Unpacking ' "$apt_log") unpacked, $(grep -c '^Setting up ' "$apt_log") set up"
    done
    if ! wait "$apt_pid"; then
      echo "setup: apt-get install failed:" >&2
      tail -n 5 "$apt_log" >&2
      echo "setup: its whole output is in $apt_log" >&2
      exit 1
    fi
    echo "setup: Debian packages installed ($(grep -c '^Setting up ' "$apt_log") set up)"
  else
    echo "setup: these Debian packages are missing: ${missing[*]}" >&2
    echo "setup: install them as root (apt-get install ${missing[*]}) and run this again." >&2
    exit 1
  fi
fi

# The test guest is built from Debian packages fetched with apt-get download: it needs package lists.
if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null && ! apt-cache show linux-image-amd64 >/dev/null 2>&1; then
  apt-get update -qq
fi

node_major() { node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }

# Node.js 24, the LTS line (20 is past its end of life).
if (( $(node_major) < 24 )); then
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
    bash scripts/install-node.sh
    hash -r
  fi
  if (( $(node_major) < 24 )); then
    echo "setup: Porthole needs Node.js 24 or newer (found: $(node --version 2>/dev/null || echo none) at $(command -v node || echo nowhere))." >&2
    echo "setup: run this as root on Debian to have it installed, or install it from https://nodejs.org/." >&2
    exit 1
  fi
fi
echo "setup: Node.js $(node --version) at $(command -v node)"

# Native addons build against the headers of the Node.js that runs them (the registry's Node.js
# ships them beside its binary, e.g. /usr/local/include/node).
node_home=$(dirname "$(dirname "$(command -v node)")")
if [[ -f $node_home/include/node/node_api.h ]]; then export npm_config_nodedir=$node_home; fi

# npm ci when the lock file is there (reproducible); it also builds (the prepare script).
if [[ -f package-lock.json ]]; then npm ci --no-audit --no-fund; else npm install --no-audit --no-fund; fi
