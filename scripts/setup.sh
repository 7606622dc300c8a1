#!/usr/bin/env bash
# Installs whatever is missing for building, demoing and testing fastcni on Debian 12 (as root),
# then builds. Safe to run again: each step is skipped when its result is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

# iptables: Debian's reference plugins exec it (masquerade, portmap) in the interop and migration tests
APT_PACKAGES=(iproute2 nftables iptables iputils-ping containernetworking-plugins strace netcat-openbsd python3 dnsmasq-base etcd-server etcd-client)
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

# cargo-fuzz for `make fuzz` (and the short fuzz runs of `make test`): only where a nightly
# toolchain is, since the fuzz targets build only with nightly.
CARGO_FUZZ_VERSION=0.13.2
if command -v rustup >/dev/null && rustup run nightly rustc --version >/dev/null 2>&1 \
  && [ "$(.cache/cargo-fuzz/bin/cargo-fuzz --version 2>/dev/null)" != "cargo-fuzz $CARGO_FUZZ_VERSION" ]; then
  echo "setup: installing cargo-fuzz $CARGO_FUZZ_VERSION into .cache (nightly toolchain found)"
  cargo install --quiet --locked --version "$CARGO_FUZZ_VERSION" --root .cache/cargo-fuzz cargo-fuzz
fi

echo "setup: building native addon and TypeScript"
npm run --silent build
node scripts/make-bin-dir.mjs

# The newest reference plugins, built from the Go module proxy: the benchmark's second baseline
# (nftables masquerade) and the migration tests' partner (test/integration/migration.test.ts).
REF_PLUGINS_VERSION=${REF_PLUGINS_VERSION:-v1.10.0}
if [ ! -x .cache/bin/ref/bridge ] || [ ! -x .cache/bin/ref/portmap ] || [ "$(cat .cache/bin/ref/VERSION 2>/dev/null)" != "$REF_PLUGINS_VERSION" ]; then
  command -v go >/dev/null || { echo "setup: go is required for the reference plugins" >&2; exit 1; }
  echo "setup: building reference plugins $REF_PLUGINS_VERSION"
  GOBIN="$PWD/.cache/bin/ref" go install \
    "github.com/containernetworking/plugins/plugins/main/bridge@$REF_PLUGINS_VERSION" \
    "github.com/containernetworking/plugins/plugins/ipam/host-local@$REF_PLUGINS_VERSION" \
    "github.com/containernetworking/plugins/plugins/main/ptp@$REF_PLUGINS_VERSION" \
    "github.com/containernetworking/plugins/plugins/meta/portmap@$REF_PLUGINS_VERSION"
  echo "$REF_PLUGINS_VERSION" > .cache/bin/ref/VERSION
fi

# Benchmark prerequisites (make bench only): the kernel-floor helper and the harness.
if [ "${FASTCNI_BENCH:-0}" = 1 ]; then
  echo "setup: building the benchmark (floor helper and harness)"
  CARGO_TARGET_DIR="$PWD/.cache/floor-target" cargo build --release --quiet --manifest-path benchmarks/floor/Cargo.toml
  npx tsc -p benchmarks/tsconfig.json
fi
