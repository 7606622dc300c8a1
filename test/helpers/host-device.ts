// Fixtures for the host-device tests: a veth end in the node namespace plays the node's device,
// its peer in a "far" namespace of its own (with an address) so that traffic through the device
// can be tested; the device's state read with ip(8).
import { tempDir } from './fixtures.js';
import { ipJson, ip, makeNetns, type Netns } from './netns.js';

export const DEVICE = 'hd0';
export const DEVICE_MAC = '02:fc:00:00:0d:01';
/** the far end's address; IPAM hands out addresses of its subnet */
export const FAR_ADDRESS = '10.77.0.1';
export const SUBNET = '10.77.0.0/24';

/** The node's device (a veth end named `name`, up, with a fixed MAC) and the namespace of its peer. */
export function nodeDevice(node: Netns, o: { name?: string; mac?: string } = {}): { name: string; mac: string; far: Netns } {
  const name = o.name ?? DEVICE;
  const mac = o.mac ?? DEVICE_MAC;
  const far = makeNetns('far');
  ip('-n', node.name, 'link', 'add', name, 'address', mac, 'type', 'veth', 'peer', 'name', 'hdpeer', 'netns', far.name);
  ip('-n', far.name, 'addr', 'add', `${FAR_ADDRESS}/24`, 'dev', 'hdpeer');
  ip('-n', far.name, 'link', 'set', 'hdpeer', 'up');
  ip('-n', node.name, 'link', 'set', name, 'up');
  return { name, mac, far };
}

export interface LinkState {
  ifname: string;
  address: string;
  ifalias?: string;
  up: boolean;
  addresses: string[];
}

/** A link of a namespace as ip(8) shows it; undefined when there is none of that name. */
export function linkState(ns: Netns, name: string): LinkState | undefined {
  type Row = {
    ifname: string;
    address: string;
    ifalias?: string;
    flags: string[];
    addr_info?: Array<{ local: string; prefixlen: number; scope: string }>;
  };
  const row = ipJson<Row[]>('-n', ns.name, 'addr').find((l) => l.ifname === name);
  if (!row) return undefined;
  const ifalias = ipJson<Row[]>('-n', ns.name, 'link', 'show', 'dev', name)[0]?.ifalias;
  return {
    ifname: row.ifname,
    address: row.address,
    ...(ifalias ? { ifalias } : {}),
    up: row.flags.includes('UP'),
    addresses: (row.addr_info ?? []).filter((a) => a.scope === 'global').map((a) => `${a.local}/${a.prefixlen}`),
  };
}

/** Names of a namespace's links. */
export function linkNames(ns: Netns): string[] {
  return ipJson<Array<{ ifname: string }>>('-n', ns.name, 'link').map((l) => l.ifname);
}

/**
 * A host-device network config (cniVersion 1.0.0, the reference's newest in Debian) with host-local
 * IPAM unless `ipam: false`, its moves pinned under `pinDir` (default: a temporary directory).
 */
export function hostDeviceConf(o: {
  dataDir: string;
  pinDir?: string;
  select?: Record<string, unknown>;
  ipam?: boolean;
  extra?: Record<string, unknown>;
}): Record<string, unknown> {
  return {
    cniVersion: '1.0.0',
    name: 'hdnet',
    type: 'host-device',
    dataDir: o.pinDir ?? tempDir('hostdev-pins'),
    ...(o.select ?? { device: DEVICE }),
    ...(o.ipam === false ? {} : { ipam: { type: 'host-local', subnet: SUBNET, dataDir: o.dataDir } }),
    ...o.extra,
  };
}
