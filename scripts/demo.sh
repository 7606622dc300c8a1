#!/usr/bin/env bash
# The demo: a sandbox "node" namespace with two pods attached by the fastcni CLI (cnitool's verbs and
# environment) to two networks — loopback, and bridge + host-local with masquerade — from a conf dir
# of its own; then three simulated nodes whose agents lease subnets in etcd and reach each other's
# pods over VXLAN. Nothing touches the machine's own network, /etc/cni or /var/lib/cni.
set -euo pipefail
cd "$(dirname "$0")/.."
FASTCNI=(node "$PWD/dist/src/cli/fastcni.js")
TAG=$$
NODE="fcni-demo-node-$TAG"; OUT="fcni-demo-out-$TAG"; PODS=("fcni-demo-pod1-$TAG" "fcni-demo-pod2-$TAG")
STATE=$(mktemp -d /tmp/fcni-demo.XXXXXX)

# cnitool's environment, pointed into the sandbox; FASTCNI_CACHE_DIR keeps the result cache there too.
export NETCONFPATH="$STATE/conf" CNI_PATH="$PWD/dist/cni" FASTCNI_CACHE_DIR="$STATE/cache"

cleanup() {
  for ns in "${PODS[@]}" "$OUT" "$NODE"; do "${FASTCNI[@]}" netns del "$ns" >/dev/null 2>&1 || true; done
  rm -rf "$STATE"
}
trap cleanup EXIT

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
# fastcni ARGS…: the CLI run inside the node namespace, which plays the host for the plugins.
fastcni() { ip netns exec "$NODE" "${FASTCNI[@]}" "$@"; }

mkdir -p "$NETCONFPATH"
cat >"$NETCONFPATH/10-demo.conflist" <<JSON
{
  "cniVersion": "1.0.0",
  "name": "demo",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "fcni0",
      "isDefaultGateway": true,
      "ipMasq": true,
      "ipam": {
        "type": "host-local",
        "ranges": [[{ "subnet": "10.244.7.0/24" }]],
        "dataDir": "$STATE/ipam"
      }
    }
  ]
}
JSON
cat >"$NETCONFPATH/99-lo.conflist" <<JSON
{ "cniVersion": "1.0.0", "name": "lo", "plugins": [{ "type": "loopback" }] }
JSON

say "sandbox: fastcni netns add — node namespace $NODE, an 'outside' namespace $OUT behind it"
"${FASTCNI[@]}" netns add "$NODE"; "${FASTCNI[@]}" netns add "$OUT"
ip -n "$NODE" link set lo up; ip -n "$OUT" link set lo up
ip -n "$NODE" link add uplink type veth peer name wan netns "$OUT"
ip -n "$NODE" addr add 192.0.2.1/24 dev uplink; ip -n "$NODE" link set uplink up
ip -n "$OUT" addr add 192.0.2.2/24 dev wan; ip -n "$OUT" link set wan up

say "fastcni list: the networks in $NETCONFPATH"
fastcni list

for i in 0 1; do
  pod=${PODS[$i]}
  "${FASTCNI[@]}" netns add "$pod" >/dev/null
  say "fastcni add pod$((i + 1)) ($pod): network lo, then network demo (bridge + host-local)"
  fastcni add lo "$pod" >/dev/null
  # pod1's result as cnitool prints it (--json), pod2's as the default table
  if [ "$i" = 0 ]; then fastcni add demo "$pod" --json; echo; else fastcni add demo "$pod"; fi
done

for i in 0 1; do
  say "pod$((i + 1)) interfaces and routes"
  ip -n "${PODS[$i]}" -br addr
  ip -n "${PODS[$i]}" route
done
say "node: bridge, ports and masquerade table"
ip -n "$NODE" -br link show master fcni0
ip -n "$NODE" -br addr show fcni0
ip netns exec "$NODE" nft list table inet fastcni

say "fastcni check and the cached attachments (cnitool's container IDs)"
for pod in "${PODS[@]}"; do fastcni check demo "$pod"; done
fastcni list

ip1=$(ip -n "${PODS[0]}" -j addr show eth0 | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s)[0].addr_info.find(a=>a.family==="inet").local))')
ip2=$(ip -n "${PODS[1]}" -j addr show eth0 | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s)[0].addr_info.find(a=>a.family==="inet").local))')
say "pod1 ($ip1) -> pod2 ($ip2)"
ip netns exec "${PODS[0]}" ping -c 2 -W 2 "$ip2"
say "pod1 -> gateway 10.244.7.1"
ip netns exec "${PODS[0]}" ping -c 1 -W 2 10.244.7.1
say "pod2 -> outside 192.0.2.2 over masquerade: the outside sees the node's address"
ip netns exec "$OUT" timeout 5 nc -l -n -v -p 8080 >/dev/null 2>"$STATE/nc.log" &
sleep 0.3
echo hello | ip netns exec "${PODS[1]}" nc -n -w 2 -N 192.0.2.2 8080 || true
wait || true
grep -o 'Connection received on [0-9.]*' "$STATE/nc.log" || cat "$STATE/nc.log"

for i in 0 1; do
  say "fastcni del pod$((i + 1))"
  fastcni del demo "${PODS[$i]}"
  fastcni del lo "${PODS[$i]}"
done
say "after DEL: ports on the bridge, reservations, masquerade elements, cached attachments"
echo "ports: $(ip -n "$NODE" -br link show master fcni0 | wc -l)"
echo "reservations: $(find "$STATE/ipam/demo" -type f -name '10.*' | wc -l)"
ip netns exec "$NODE" nft list table inet fastcni
fastcni list
say "fastcni netns del: everything ran inside namespaces that are now removed"
for ns in "${PODS[@]}" "$OUT" "$NODE"; do "${FASTCNI[@]}" netns del "$ns"; done
echo "demo namespaces left: $("${FASTCNI[@]}" netns list | grep -c -- "-$TAG\$" || true)"

# The multi-node scene (scripts/demo-cluster.ts, on the lab of the cluster tests): compiled with the
# benchmarks, which share that lab; it removes its own namespaces, agents, etcd and files.
npx tsc -p benchmarks/tsconfig.json
node dist/scripts/demo-cluster.js
