#!/usr/bin/env bash
# The demo: a sandbox "node" namespace with two pods wired by our bridge + host-local + loopback binaries,
# exec'd exactly as a container runtime execs them. Nothing touches the machine's own network.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="$PWD/dist/cni"
TAG=$$
NODE="fcni-demo-node-$TAG"; OUT="fcni-demo-out-$TAG"; PODS=("fcni-demo-pod1-$TAG" "fcni-demo-pod2-$TAG")
STATE=$(mktemp -d /tmp/fcni-demo.XXXXXX)

cleanup() {
  for ns in "${PODS[@]}" "$OUT" "$NODE"; do ip netns del "$ns" 2>/dev/null || true; done
  rm -rf "$STATE"
}
trap cleanup EXIT

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

CONF=$(cat <<JSON
{
  "cniVersion": "1.0.0",
  "name": "demo",
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
JSON
)
LO_CONF='{"cniVersion": "1.0.0", "name": "lo", "type": "loopback"}'

# cni COMMAND PLUGIN CONFIG NETNS ID: run a plugin binary inside the node namespace, like a runtime.
cni() {
  ip netns exec "$NODE" env -i PATH="$PATH" CNI_COMMAND="$1" CNI_CONTAINERID="$5" CNI_NETNS="/var/run/netns/$4" \
    CNI_IFNAME=eth0 CNI_PATH="$BIN" "$BIN/$2" <<<"$3"
}

say "sandbox: node namespace $NODE, an 'outside' namespace $OUT behind it"
ip netns add "$NODE"; ip netns add "$OUT"
ip -n "$NODE" link set lo up; ip -n "$OUT" link set lo up
ip -n "$NODE" link add uplink type veth peer name wan netns "$OUT"
ip -n "$NODE" addr add 192.0.2.1/24 dev uplink; ip -n "$NODE" link set uplink up
ip -n "$OUT" addr add 192.0.2.2/24 dev wan; ip -n "$OUT" link set wan up

for i in 0 1; do
  pod=${PODS[$i]}
  ip netns add "$pod"
  say "ADD pod$((i + 1)) ($pod): loopback, then bridge + host-local"
  cni ADD loopback "$LO_CONF" "$pod" "demo-$i" >/dev/null
  cni ADD bridge "$CONF" "$pod" "demo-$i" | tee "$STATE/result-$i.json"
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

ip1=$(ip -n "${PODS[0]}" -j addr show eth0 | python3 -c 'import json,sys; print([a["local"] for a in json.load(sys.stdin)[0]["addr_info"] if a["family"]=="inet"][0])')
ip2=$(ip -n "${PODS[1]}" -j addr show eth0 | python3 -c 'import json,sys; print([a["local"] for a in json.load(sys.stdin)[0]["addr_info"] if a["family"]=="inet"][0])')
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
  say "DEL pod$((i + 1))"
  cni DEL bridge "$CONF" "${PODS[$i]}" "demo-$i"
  cni DEL loopback "$LO_CONF" "${PODS[$i]}" "demo-$i"
done
say "after DEL: ports on the bridge, reservations, masquerade elements"
echo "ports: $(ip -n "$NODE" -br link show master fcni0 | wc -l)"
echo "reservations: $(find "$STATE/ipam/demo" -type f -name '10.*' | wc -l)"
ip netns exec "$NODE" nft list table inet fastcni
say "done: everything ran inside namespaces that are now removed"
