// Fixtures of the macvlan, ipvlan and vlan tests: a node namespace with a master (one end of a veth
// pair whose other end is up too, so the master has carrier), a probe for a link kind the kernel
// may lack, and the pod link as `ip -j -d link` reports it.
import { execFileSync } from 'node:child_process';
import { expect } from 'vitest';
import { reservations, sandbox, type Sandbox } from './cli.js';
import { cni, tempDir } from './fixtures.js';
import { makeNetns, ip, ipJson, type Netns } from './netns.js';

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

/** A refused ADD: its config's changes, the error code, and the message's pattern. */
export type RefusedCase = [extra: Record<string, unknown>, code: number, msg: RegExp, args?: string];

/**
 * Each case's ADD (on `node`'s master, into `pod`, as `ifname` when the case's config has the key
 * `ifname`) fails with its code and message, and leaves no link in the pod, no link added in the
 * node and no reservation of `net` in the sandbox's IPAM data.
 */
export async function expectRefused(o: {
  node: Netns;
  pod: Netns;
  box: Sandbox;
  net: string;
  conf: (extra: Record<string, unknown>) => Record<string, unknown>;
  cases: RefusedCase[];
}): Promise<void> {
  const nodeLinks = linkNames(o.node);
  for (const [extra, code, msg, args] of o.cases) {
    const { ifname, ...rest } = extra as { ifname?: string };
    const run = await cni('ADD', { node: o.node, pod: o.pod, id: 'refused', conf: o.conf(rest), args, ifname });
    const label = JSON.stringify(extra);
    expect(run.code, label).not.toBe(0);
    expect(run.json, label).toMatchObject({ code, msg: expect.stringMatching(msg) });
    expect(linkNames(o.pod), label).toEqual([]);
    expect(linkNames(o.node), label).toEqual(nodeLinks);
    expect(reservations(o.box, o.net), label).toEqual([]);
  }
}

/**
 * Where the kernel lacks the link kind's module: ADD of a valid config fails at the link's creation
 * leaving nothing (no IPAM was called yet), and DEL succeeds.
 */
export async function expectModuleMissing(o: { net: string; type: string; extra: Record<string, unknown> }): Promise<void> {
  const { node, master } = nodeWithMaster();
  const pod = makeNetns('pod');
  const box = sandbox();
  const conf = { cniVersion: '1.0.0', name: o.net, type: o.type, master, ipam: hostLocal('10.78.0.0/24', box.dataDir), ...o.extra };
  const add = await cni('ADD', { node, pod, id: 'no-module', conf });
  expect(add.code).not.toBe(0);
  expect(add.json).toMatchObject({ msg: expect.stringContaining('link create') });
  expect(linkNames(pod)).toEqual([]);
  expect(linkNames(node)).toEqual(['mst0', 'mst0p']);
  expect(reservations(box, o.net)).toEqual([]);
  expect(await cni('DEL', { node, pod, id: 'no-module', conf })).toMatchObject({ code: 0, stdout: '' });
}
