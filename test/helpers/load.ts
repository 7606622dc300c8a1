// A bridge + host-local (+ portmap) network driven as a runtime drives it — our CniRuntime (libcni's
// equivalent, with its results cache) exec'ing the launchers in a node namespace — and the invariant
// checker the load tests and `make soak` share: every address, reservation, nftables element, host
// veth and cache file belongs to a live pod, and every live pod has each of them.
// No vitest import here: the soak (benchmarks/soak.ts) runs this outside the test runner.
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { scanDirectory } from '../../src/ipam/dir-index.js';
import { CniRuntime, parseNetworkList, type NetworkList, type RuntimeConf } from '../../src/runtime/index.js';
import { portmapElements, tableElements } from './nft.js';

/** Run tasks with at most `limit` at once; results in task order. */
export async function pool<T>(n: number, limit: number, task: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = new Array(n);
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      for (let i = next++; i < n; i = next++) out[i] = await task(i);
    }),
  );
  return out;
}

/** host-local's reservations of a network directory: address → owner's container ID. */
export function reservations(dataDir: string, net: string): Map<string, string> {
  const dir = join(dataDir, net);
  const out = new Map<string, string>();
  if (!existsSync(dir)) return out;
  for (const [name, content] of scanDirectory(dir)) out.set(name, content.split(/\r?\n/)[0]!);
  return out;
}

export interface LoadNetOptions {
  /** the namespace that plays the node (its name) */
  node: string;
  /** an empty directory for the config, the results cache, the IPAM data and the exec wrappers */
  dir: string;
  /** the launchers (dist/cni) */
  binDir: string;
  /** the agent's socket; a path where none listens makes every launcher fall back to Node */
  socketPath: string;
  /** an IPv4 subnet for the pods */
  subnet: string;
  name?: string;
  bridge?: string;
  /** portmap chained after the bridge (a host port per pod); default true */
  portmap?: boolean;
}

/** A pod the runtime set up, as the invariants expect to find it. */
export interface LivePod {
  id: string;
  /** its network namespace's name and path */
  ns: string;
  netns: string;
  /** eth0's IPv4 address, without prefix */
  address: string;
  /** the host end of its veth and eth0's MAC, as the result names them */
  hostVeth: string;
  mac: string;
  hostPort?: number;
}

interface ResultJson {
  interfaces?: Array<{ name: string; mac?: string; sandbox?: string }>;
  ips?: Array<{ address: string }>;
}

/**
 * The network: a conflist (CNI 1.1.0, so GC and STATUS apply) of bridge with ipMasq and macspoofchk,
 * host-local, and portmap, and a CniRuntime whose plugin path holds one wrapper per plugin that execs
 * the launcher inside the node namespace (libcni execs plugins where it runs itself; the test
 * process must stay out of the machine's own namespace).
 */
export class LoadNet {
  readonly name: string;
  readonly bridge: string;
  readonly dataDir: string;
  readonly cacheDir: string;
  readonly list: NetworkList;
  readonly runtime: CniRuntime;

  constructor(readonly o: LoadNetOptions) {
    this.name = o.name ?? 'loadnet';
    this.bridge = o.bridge ?? 'fcniload0';
    this.dataDir = join(o.dir, 'ipam');
    this.cacheDir = join(o.dir, 'cache');
    const wrappers = join(o.dir, 'bin');
    mkdirSync(wrappers, { recursive: true });
    const plugins: Array<Record<string, unknown>> = [
      {
        type: 'bridge',
        bridge: this.bridge,
        isGateway: true,
        ipMasq: true,
        macspoofchk: true,
        ipam: { type: 'host-local', ranges: [[{ subnet: o.subnet }]], routes: [{ dst: '0.0.0.0/0' }], dataDir: this.dataDir },
      },
    ];
    if (o.portmap ?? true) plugins.push({ type: 'portmap', capabilities: { portMappings: true } });
    for (const p of plugins) {
      const file = join(wrappers, p.type as string);
      // CNI_PATH set back to the launchers: the bridge's host-local delegate is found there, as on a node
      writeFileSync(file, `#!/bin/sh\nCNI_PATH=${o.binDir} exec ip netns exec ${o.node} ${join(o.binDir, p.type as string)}\n`);
      chmodSync(file, 0o755);
    }
    const bytes = Buffer.from(JSON.stringify({ cniVersion: '1.1.0', name: this.name, plugins }));
    this.list = parseNetworkList(bytes);
    this.runtime = new CniRuntime({
      pluginPath: [wrappers],
      cacheDir: this.cacheDir,
      confDir: join(o.dir, 'conf'),
      env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', FASTCNI_SOCKET: o.socketPath },
      stderr: () => undefined,
    });
  }

  private rt(pod: { id: string; netns: string; hostPort?: number }): RuntimeConf {
    return {
      containerId: pod.id,
      netns: pod.netns,
      ifname: 'eth0',
      ...(pod.hostPort !== undefined && (this.o.portmap ?? true)
        ? { capabilityArgs: { portMappings: [{ hostPort: pod.hostPort, containerPort: 80, protocol: 'tcp' }] } }
        : {}),
    };
  }

  /** ADD through the runtime; the pod as the result describes it. */
  async add(pod: { id: string; ns: string; netns: string; hostPort?: number }): Promise<LivePod> {
    const r = (await this.runtime.addNetworkList(this.list, this.rt(pod))) as ResultJson;
    const hostVeth = r.interfaces?.find((i) => !i.sandbox && i.name !== this.bridge)?.name;
    const mac = r.interfaces?.find((i) => i.sandbox)?.mac;
    const address = r.ips?.[0]?.address.split('/')[0];
    if (!hostVeth || !mac || !address)
      throw new Error(`ADD ${pod.id}: the result names no host veth, MAC or address: ${JSON.stringify(r)}`);
    return { ...pod, address, hostVeth, mac };
  }

  check(pod: LivePod): Promise<void> {
    return this.runtime.checkNetworkList(this.list, this.rt(pod));
  }

  del(pod: { id: string; netns: string; hostPort?: number }): Promise<void> {
    return this.runtime.delNetworkList(this.list, this.rt(pod));
  }

  /** GC keeping these pods' attachments. */
  gc(keep: LivePod[]): Promise<void> {
    return this.runtime.gcNetworkList(
      this.list,
      keep.map((p) => ({ containerID: p.id, ifname: 'eth0' })),
    );
  }
}

/**
 * The nf_tables elements a pod owns, as tableElements lists them (set names without their hash): its
 * masquerade and spoof-check elements, and portmap's hairpin and host-port elements.
 */
function expectedElements(net: LoadNet, p: LivePod): string[] {
  const own = `${p.id}/eth0`;
  const out = [
    `inet masq ${p.address} # ${own}`,
    `bridge spoof-if ${p.hostVeth} # ${own}`,
    `bridge spoof-mac ${p.hostVeth} . ${p.mac} # ${own}`,
  ];
  if (net.o.portmap === false) return out;
  const tag = `${net.name} ${own}`;
  return [
    ...out,
    `ip hairpin ${p.address} . ${p.address} # ${tag}`,
    `ip hairpin 127.0.0.1 . ${p.address} # ${tag}`,
    `ip hostports tcp . ${p.hostPort} # ${tag} : ${p.address} . 80`,
  ];
}

function ipJson<T>(...args: string[]): T {
  const out = execFileSync('ip', ['-j', ...args], { encoding: 'utf8' }).trim();
  return (out ? JSON.parse(out) : []) as T;
}

function diff(what: string, have: Iterable<string>, want: Iterable<string>): string[] {
  const h = new Set(have);
  const w = new Set(want);
  return [
    ...[...h].filter((x) => !w.has(x)).map((x) => `${what}: ${x} is not a live pod's`),
    ...[...w].filter((x) => !h.has(x)).map((x) => `${what}: live pod's ${x} missing`),
  ];
}

/**
 * Every invariant of the network against the live pods, read with tools that are not ours (ip, nft)
 * and from the files themselves; the violations, none when all hold.
 */
export async function checkInvariants(net: LoadNet, live: Iterable<LivePod>): Promise<string[]> {
  const pods = [...live];
  const bad: string[] = [];
  // addresses unique, and each pod's eth0 holds exactly its own
  const seen = new Map<string, string>();
  for (const p of pods) {
    const links = ipJson<Array<{ addr_info: Array<{ family: string; local: string; scope: string }> }>>(
      '-n',
      p.ns,
      'addr',
      'show',
      'dev',
      'eth0',
    );
    const v4 = (links[0]?.addr_info ?? []).filter((a) => a.family === 'inet' && a.scope === 'global').map((a) => a.local);
    if (v4.length !== 1 || v4[0] !== p.address) bad.push(`pod ${p.id}: eth0 has ${JSON.stringify(v4)}, its result ${p.address}`);
    for (const a of v4) {
      if (seen.has(a)) bad.push(`address ${a} on both ${seen.get(a)} and ${p.id}`);
      seen.set(a, p.id);
    }
  }
  // IPAM files = live pods (address → owner)
  bad.push(
    ...diff(
      'host-local reservation',
      [...reservations(net.dataDir, net.name)].map(([a, id]) => `${a} ${id}`),
      pods.map((p) => `${p.address} ${p.id}`),
    ),
  );
  // host veths = live pods, each a port of the bridge
  const veths = ipJson<Array<{ ifname: string; master?: string }>>('-n', net.o.node, 'link', 'show', 'type', 'veth');
  bad.push(
    ...diff(
      'host veth',
      veths.map((l) => `${l.ifname}@${l.master ?? '-'}`),
      pods.map((p) => `${p.hostVeth}@${net.bridge}`),
    ),
  );
  // nftables elements = live pods, each pod's exactly
  const sets = tableElements({ name: net.o.node, path: '' }, 'fastcni').map((e) => e.replace(/^(\S+ \S+)-[0-9a-f]{16} /, '$1 '));
  const mapped = net.o.portmap === false ? [] : portmapElements({ name: net.o.node, path: '' });
  bad.push(
    ...diff(
      'nftables element',
      [...sets, ...mapped],
      pods.flatMap((p) => expectedElements(net, p)),
    ),
  );
  // libcni's results cache = live pods
  const cached = (await net.runtime.getCachedAttachments()).map((a) => `${a.networkName}/${a.containerId}/${a.ifname}`);
  bad.push(
    ...diff(
      'results cache',
      cached,
      pods.map((p) => `${net.name}/${p.id}/eth0`),
    ),
  );
  return bad;
}
