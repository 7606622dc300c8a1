// Fixtures of the macvlan, ipvlan and vlan tests: a node namespace with a master (one end of a veth
// pair whose other end is up too, so the master has carrier), a probe for a link kind the kernel
// may lack, and the pod link as `ip -j -d link` reports it.
import { execFileSync } from 'node:child_process';
import { makeNetns, ip, ipJson, type Netns } from './netns.js';
import { tempDir } from './fixtures.js';

export interface LinkJson {
  ifname: string;
  mtu: number;
  address: string;
  operstate: string;
  flags: string[];
  link_netnsid?: number;
  link_index?: number;
  linkinfo?: { info_kind?: string; info_data?: { mode?: string; id?: number; bcqueuelen?: number } };
}

/** A node namespace whose `master` (default mst0) is one end of an up veth pair, with `mtu`. */
export function nodeWithMaster(o: { master?: string; mtu?: number } = {}): { node: Netns; master: string } {
  const node = makeNetns('node');
  const master = o.master ?? 'mst0';
  ip('-n', node.name, 'link', 'add', master, 'type', 'veth', 'peer', 'name', `${master}p`);
  if (o.mtu) ip('-n', node.name, 'link', 'set', master, 'mtu', String(o.mtu));
  ip('-n', node.name, 'link', 'set', master, 'up');
  ip('-n', node.name, 'link', 'set', `${master}p`, 'up');
  return { node, master };
}

/** The link `ifname` in `ns` with its details; undefined when there is none. */
export function linkOf(ns: Netns, ifname: string): LinkJson | undefined {
  return ipJson<LinkJson[]>('-n', ns.name, '-d', 'link').find((l) => l.ifname === ifname);
}

/** Names of the links in `ns` besides lo. */
export function linkNames(ns: Netns): string[] {
  return ipJson<LinkJson[]>('-n', ns.name, 'link')
    .map((l) => l.ifname)
    .filter((n) => n !== 'lo')
    .sort();
}

const kinds = new Map<string, boolean>();

/**
 * Whether the kernel can make a link of `kind` (ipvlan, vlan, macvlan) on a veth: tried in a scratch
 * namespace, removed again; a missing module shows as a refused `ip link add`.
 */
export function hasLinkKind(kind: 'ipvlan' | 'vlan' | 'macvlan'): boolean {
  const known = kinds.get(kind);
  if (known !== undefined) return known;
  const ns = `fcni-t-probe-${kind}-${process.pid}`;
  let ok = false;
  try {
    ip('netns', 'add', ns);
    ip('-n', ns, 'link', 'add', 'p0', 'type', 'veth', 'peer', 'name', 'p1');
    const extra = kind === 'vlan' ? ['id', '5'] : [];
    execFileSync('ip', ['-n', ns, 'link', 'add', 'link', 'p0', 'name', 'probe', 'type', kind, ...extra], { stdio: 'ignore' });
    ok = true;
  } catch {
    ok = false;
  } finally {
    execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
  }
  kinds.set(kind, ok);
  return ok;
}

/** A host-local IPAM block over `subnet` with a default route, its data in a temp dir. */
export function hostLocal(subnet = '10.77.0.0/24', dataDir = tempDir('ipam')): Record<string, unknown> {
  return { type: 'host-local', subnet, dataDir, routes: [{ dst: '0.0.0.0/0' }] };
}
