#!/usr/bin/env bash
# Installs whatever is missing for building, demoing and testing fastcni on Debian 12 (as root),
# then builds. Safe to run again: each step is skipped when its result is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(iproute2 nftables iputils-ping containernetworking-plugins strace netcat-openbsd)
CNITOOL_VERSION=v1.3.0

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}" >/dev/null
fi

command -v cargo >/dev/null || { echo "setup: cargo (Rust) is required" >&2; exit 1; }
command -v node >/dev/null || { echo "setup: node is required" >&2; exit 1; }

if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: npm ci"
  npm ci --no-audit --no-fund --loglevel=error
fi

if [ ! -x .cache/bin/cnitool ]; then
  command -v go >/dev/null || { echo "setup: go is required for cnitool" >&2; exit 1; }
  echo "setup: building cnitool $CNITOOL_VERSION"
  GOBIN="$PWD/.cache/bin" go install "github.com/containernetworking/cni/cnitool@$CNITOOL_VERSION"
fi

echo "setup: building native addon and TypeScript"
npm run --silent build
node scripts/make-bin-dir.mjs
