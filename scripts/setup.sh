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
    echo "setup: installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${missing[@]}" >/dev/null
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

if (( $(node_major) < 20 )); then
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
    bash scripts/install-node.sh
    hash -r
  fi
  if (( $(node_major) < 20 )); then
    echo "setup: Porthole needs Node.js 20 or newer (found: $(node --version 2>/dev/null || echo none))." >&2
    echo "setup: run this as root on Debian to have it installed, or install it from https://nodejs.org/." >&2
    exit 1
  fi
fi

# npm ci when the lock file is there (reproducible); it also builds (the prepare script).
if [[ -f package-lock.json ]]; then npm ci --no-audit --no-fund; else npm install --no-audit --no-fund; fi
