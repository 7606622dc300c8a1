// What the ptp plugin's tests build and read: a ptp + host-local network config, and a namespace's
// links, addresses and routes as ip(8) reports them, with what differs from one ADD to the next
// (the host end's random name, MACs, link-local addresses, interface indexes) replaced.
import { setTimeout as sleep } from 'node:timers/promises';
import { ip, ipJson, makeNetns, type Netns } from './netns.js';
import { routingState } from './sbr.js';

export interface PtpNetOptions {
  name?: string;
  cniVersion?: string;
  ranges?: unknown;
  dataDir: string;
  extra?: Record<string, unknown>;
  ipamExtra?: Record<string, unknown>;
}

/** A ptp + host-local network config (IPv4 10.98.0.0/24 and a default route unless told otherwise). */
export function ptpConf(o: PtpNetOptions): Record<string, unknown> {
  return {
    cniVersion: o.cniVersion ?? '1.0.0',
    name: o.name ?? 'ptpnet',
    type: 'ptp',
    ipMasq: true,
    ipam: {
      type: 'host-local',
      ranges: o.ranges ?? [[{ subnet: '10.98.0.0/24' }]],
      routes: [{ dst: '0.0.0.0/0' }],
      dataDir: o.dataDir,
      ...o.ipamExtra,
    },
    ...o.extra,
  };
}

/** Host ends' names (`veth` + 8 hex) as VETH, MACs as MAC, IPv6 link-local addresses as LINKLOCAL. */
export function normalized<T>(value: T): T {
  const text = JSON.stringify(value)
    .replace(/veth[0-9a-f]{8}/g, 'VETH')
    .replace(/([0-9a-f]{2}:){5}[0-9a-f]{2}/g, 'MAC')
    .replace(/fe80::[0-9a-f:]+/g, 'LINKLOCAL');
  return JSON.parse(text) as T;
}

interface LinkJson {
  ifname: string;
  flags: string[];
  mtu: number;
  operstate: string;
  linkinfo?: { info_kind?: string };
  addr_info: Array<{ family: string; local: string; prefixlen: number; scope: string; broadcast?: string }>;
}

/** Every link of a namespace with its kind, flags, MTU and addresses (not their DAD state or lifetimes), normalized. */
export function linkState(ns: Netns): unknown {
  const links = ipJson<LinkJson[]>('-n', ns.name, '-d', 'addr').map((l) => ({
    ifname: l.ifname,
    kind: l.linkinfo?.info_kind,
    flags: l.flags,
    mtu: l.mtu,
    addresses: l.addr_info.map((a) => ({
      family: a.family,
      local: a.local,
      prefixlen: a.prefixlen,
      scope: a.scope,
      broadcast: a.broadcast,
    })),
  }));
  return normalized(links);
}

/** A namespace's links, addresses, rules and routes of every table, normalized. */
export function kernelState(ns: Netns): unknown {
  return normalized({ links: linkState(ns), routing: routingState(ns) });
}

/** Host ends (`veth` + 8 hex) in a namespace. */
export function hostEnds(ns: Netns): string[] {
  return ipJson<LinkJson[]>('-n', ns.name, 'addr')
    .map((l) => l.ifname)
    .filter((n) => /^veth[0-9a-f]{8}$/.test(n));
}

/** Wait (up to 5 s) until no IPv6 address of the namespace is tentative: the kernel adds their local routes then. */
export async function dadSettled(ns: Netns): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const tentative = ipJson<Array<{ addr_info: Array<{ tentative?: boolean }> }>>('-n', ns.name, 'addr').some((l) =>
      l.addr_info.some((a) => a.tentative),
    );
    if (!tentative) return;
    await sleep(50);
  }
  throw new Error(`IPv6 DAD did not settle in ${ns.name}`);
}

/**
 * An "outside" namespace joined to the node by a veth: the node's end `uplink` 192.0.2.1/24, the
 * outside's end `wan` 192.0.2.2/24 (removed when the test finishes).
 */
export function outsideOf(node: Netns): Netns {
  const outside = makeNetns('out');
  ip('-n', node.name, 'link', 'add', 'uplink', 'type', 'veth', 'peer', 'name', 'wan', 'netns', outside.name);
  ip('-n', node.name, 'addr', 'add', '192.0.2.1/24', 'dev', 'uplink');
  ip('-n', node.name, 'link', 'set', 'uplink', 'up');
  ip('-n', outside.name, 'addr', 'add', '192.0.2.2/24', 'dev', 'wan');
  ip('-n', outside.name, 'link', 'set', 'wan', 'up');
  return outside;
}
