// Higher-level fixtures for plugin tests: a node namespace with a temp state dir, pods, configs.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { onTestFinished } from 'vitest';
import { ipJson, makeNetns, type Netns } from './netns.js';
import { cniEnv, OUR_BIN, runPlugin, type PluginRun } from './run-plugin.js';

/** A temp directory removed when the test finishes. */
export function tempDir(label: string): string {
  const dir = mkdtempSync(join(tmpdir(), `fcni-t-${label}-`));
  // retried: an agent may still be writing a network's spares there when the test ends (ENOTEMPTY)
  onTestFinished(() => rmSync(dir, { recursive: true, force: true, maxRetries: 5 }));
  return dir;
}

export interface BridgeNetOptions {
  name?: string;
  cniVersion?: string;
  bridge?: string;
  subnet?: string;
  ranges?: unknown;
  dataDir: string;
  ipamType?: string;
  extra?: Record<string, unknown>;
  ipamExtra?: Record<string, unknown>;
}

/** A bridge + host-local network config. */
export function bridgeConf(o: BridgeNetOptions): Record<string, unknown> {
  return {
    cniVersion: o.cniVersion ?? '1.0.0',
    name: o.name ?? 'testnet',
    type: 'bridge',
    bridge: o.bridge ?? 'fcnibr0',
    isGateway: true,
    ipMasq: true,
    ipam: {
      type: o.ipamType ?? 'host-local',
      ranges: o.ranges ?? [[{ subnet: o.subnet ?? '10.99.0.0/24' }]],
      routes: [{ dst: '0.0.0.0/0' }],
      dataDir: o.dataDir,
      ...o.ipamExtra,
    },
    ...o.extra,
  };
}

export interface Call {
  node: Netns;
  pod?: Netns;
  netnsPath?: string;
  id: string;
  ifname?: string;
  conf: unknown;
  binDir?: string;
  plugin?: string;
  path?: string;
  args?: string;
}

/** Exec a plugin binary in the node namespace with the usual env. */
export function cni(command: string, c: Call): Promise<PluginRun> {
  const binDir = c.binDir ?? OUR_BIN;
  const conf = c.conf as { type?: string };
  return runPlugin({
    nodeNs: c.node.name,
    binary: join(binDir, c.plugin ?? conf.type ?? 'bridge'),
    env: cniEnv(command, { id: c.id, netns: c.netnsPath ?? c.pod?.path, ifname: c.ifname, path: c.path ?? binDir, args: c.args }),
    config: c.conf,
  });
}

export interface IpAddrJson {
  ifname: string;
  link_type?: string;
  address?: string;
  operstate?: string;
  flags?: string[];
  master?: string;
  linkinfo?: { info_kind?: string };
  addr_info: Array<{ family: string; local: string; prefixlen: number; scope: string }>;
}

/** `ip -j -d addr` in a namespace. */
export function addrs(ns: Netns): IpAddrJson[] {
  return ipJson<IpAddrJson[]>('-n', ns.name, '-d', 'addr');
}

/** Global addresses of one interface, as CIDRs. */
export function cidrsOf(ns: Netns, ifname: string): string[] {
  const link = addrs(ns).find((l) => l.ifname === ifname);
  return (link?.addr_info ?? []).filter((a) => a.scope === 'global').map((a) => `${a.local}/${a.prefixlen}`);
}

/** Links enslaved to a bridge in the node namespace. */
export function bridgePorts(node: Netns, bridge: string): string[] {
  return addrs(node)
    .filter((l) => l.master === bridge)
    .map((l) => l.ifname);
}

/** Make the node and a pod namespace. */
export function nodeAndPod(): { node: Netns; pod: Netns } {
  return { node: makeNetns('node'), pod: makeNetns('pod') };
}
