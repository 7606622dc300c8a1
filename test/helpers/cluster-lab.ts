// The simulated cluster of the multi-node tests, the demo and the benchmark: an underlay namespace
// with a bridge, N node namespaces each plugged into it by a veth (192.168.50.<10+i>/24, forwarding
// on), an "outside" namespace on the underlay (192.168.50.200) for masquerade checks (dual-stack labs
// give the underlay IPv6 too: fd00:50::<10+i>/64, the outside fd00:50::200), and per node a
// `fastcni agent --cluster` in the machine's namespace whose cluster file names the node's namespace
// (so it reaches etcd on 127.0.0.1), plus a flannel conflist whose pods are added by our runtime (the
// fastcni CLI) run inside the node namespace, through the launchers and that node's agent.
// No vitest import here: the demo and the benchmark run this outside the test runner; `close()` removes
// everything (the tests call it from afterAll).
import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { agentStatus } from '../../src/agent/status.js';
import type { ClusterStatus } from '../../src/cluster/index.js';
import { cidrContains, parseCidr, parseIp } from '../../src/net/ip.js';
import { type AgentProcess, FASTCNI, spawnAgent } from './agent-process.js';
import { pool } from './load.js';
import { execWith, OUR_BIN } from './run-plugin.js';

const run = promisify(execFile);

export type Backend = 'host-gw' | 'vxlan';

/** The underlay's addresses: node i is UNDERLAY.(10+i), the outside namespace OUTSIDE_IP. */
export const UNDERLAY = '192.168.50';
export const OUTSIDE_IP = `${UNDERLAY}.200`;
/** The underlay's IPv6 addresses in a dual-stack lab: node i is UNDERLAY6<10+i>, the outside OUTSIDE_IP6. */
export const UNDERLAY6 = 'fd00:50::';
export const OUTSIDE_IP6 = `${UNDERLAY6}200`;
/** The pod network every node's conflist names. */
export const NETWORK = 'cbr0';

export interface ClusterLabOptions {
  /** namespace names start with this (the tests' RUN_PREFIX, the benchmark's or the demo's prefix) */
  prefix: string;
  nodes: number;
  backend: Backend;
  /**
   * etcd client URLs; without them the agents run without --cluster and the lab writes each node a
   * subnet.env of its own (10.244.<i+1>.0/24), with no route to any other node
   */
  etcd?: string[];
  /** default 10.244.0.0/16 */
  clusterCIDR?: string;
  /**
   * dual-stack: the cluster's IPv6 range (node subnets /64), pods get an address of each family and
   * the underlay gets IPv6 addresses too (the node's publicIP stays IPv4)
   */
  clusterCIDR6?: string;
  /** seconds, default 10 (the controller's default) */
  leaseTTL?: number;
  /** the pod bridge in each node, default fcni-cl0 */
  bridge?: string;
  /** agents started at once by create(), default all (the benchmark's 20 on a busy 2-CPU machine need fewer) */
  startConcurrency?: number;
}

export interface LabNode {
  readonly index: number;
  /** the cluster's node name, node-<i> */
  readonly name: string;
  /** its network namespace (name, and the path the cluster file names) */
  readonly ns: string;
  readonly nsPath: string;
  /** its underlay address */
  readonly publicIP: string;
  /** its underlay IPv6 address (dual-stack labs only carry it on the link) */
  readonly publicIP6: string;
  readonly dir: string;
  readonly socketPath: string;
  readonly clusterFile: string;
  readonly subnetFile: string;
  agent?: AgentProcess;
  removed: boolean;
}

export interface LabPod {
  readonly node: LabNode;
  /** its namespace's name and path */
  readonly ns: string;
  readonly nsPath: string;
  /** eth0's IPv4 address as the ADD result gave it, without prefix */
  readonly address: string;
  /** eth0's IPv6 address as the ADD result gave it (dual-stack labs), without prefix */
  readonly address6?: string;
}

export interface RouteJson {
  dst: string;
  gateway?: string;
  dev?: string;
  protocol?: string;
  flags?: string[];
}

function ip(...args: string[]): string {
  return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/**
 * Wait until `cond` holds, polling every `every` ms, or throw naming `what` with the last state
 * `describe` gives; resolves with the milliseconds it took.
 */
export async function waitUntil(
  what: string,
  cond: () => boolean | Promise<boolean>,
  o: { ms: number; every?: number; describe?: () => unknown },
): Promise<number> {
  const start = performance.now();
  for (;;) {
    if (await cond()) return performance.now() - start;
    if (performance.now() - start > o.ms)
      throw new Error(`timed out after ${o.ms} ms waiting for ${what}${o.describe ? `: ${JSON.stringify(o.describe())}` : ''}`);
    await sleep(o.every ?? 50);
  }
}

export class ClusterLab {
  readonly dir: string;
  readonly underlay: string;
  readonly outside: string;
  readonly nodes: LabNode[] = [];
  readonly pods: LabPod[] = [];
  readonly clusterCIDR: string;
  readonly bridge: string;
  private readonly namespaces: string[] = [];
  private closed = false;
  private podSeq = 0;

  private constructor(readonly o: ClusterLabOptions) {
    this.dir = mkdtempSync(join(tmpdir(), 'fcni-cluster-'));
    const tag = `${o.prefix}cl${randomBytes(2).toString('hex')}-`;
    this.underlay = `${tag}ul`;
    this.outside = `${tag}out`;
    this.clusterCIDR = o.clusterCIDR ?? '10.244.0.0/16';
    this.bridge = o.bridge ?? 'fcni-cl0';
    for (let i = 0; i < o.nodes; i++) {
      const name = `node-${i}`;
      const dir = join(this.dir, name);
      this.nodes.push({
        index: i,
        name,
        ns: `${tag}n${i}`,
        nsPath: `/var/run/netns/${tag}n${i}`,
        publicIP: `${UNDERLAY}.${10 + i}`,
        publicIP6: `${UNDERLAY6}${10 + i}`,
        dir,
        // a directory of its own: the agent makes it 0700, as it wants its socket's directory
        socketPath: join(dir, 'run', 'agent.sock'),
        clusterFile: join(dir, 'cluster.json'),
        subnetFile: join(dir, 'subnet.env'),
        removed: false,
      });
    }
  }

  /** Build the lab and start every node's agent; with etcd, wait until each node holds a lease. */
  static async create(o: ClusterLabOptions): Promise<ClusterLab> {
    const lab = new ClusterLab(o);
    try {
      lab.wire();
      for (const n of lab.nodes) lab.configure(n);
      // settled, all of them: an agent still starting when another failed must not outlive close()
      const failed: unknown[] = [];
      await pool(lab.nodes.length, o.startConcurrency ?? lab.nodes.length, (i) =>
        lab.startAgent(lab.nodes[i]!).then(
          () => undefined,
          (e: unknown) => void failed.push(e),
        ),
      );
      if (failed.length) throw failed[0];
      await lab.waitLeased(lab.nodes, 20_000);
    } catch (e) {
      await lab.close();
      throw e;
    }
    return lab;
  }

  private netnsAdd(name: string): void {
    ip('netns', 'add', name);
    this.namespaces.push(name);
    ip('-n', name, 'link', 'set', 'lo', 'up');
  }

  /** A veth from the underlay bridge (port `port`) to `ifname` in `ns` with `addr`/24 (and `addr6`/64 in a dual-stack lab), up. */
  private plug(ns: string, port: string, ifname: string, addr: string, addr6: string): void {
    ip('-n', this.underlay, 'link', 'add', port, 'type', 'veth', 'peer', 'name', ifname, 'netns', ns);
    ip('-n', this.underlay, 'link', 'set', port, 'master', 'br0', 'up');
    ip('-n', ns, 'addr', 'add', `${addr}/24`, 'dev', ifname);
    // nodad: usable at once, and every address of the underlay is the lab's own
    if (this.o.clusterCIDR6) ip('-n', ns, 'addr', 'add', `${addr6}/64`, 'dev', ifname, 'nodad');
    ip('-n', ns, 'link', 'set', ifname, 'up');
  }

  private wire(): void {
    this.netnsAdd(this.underlay);
    ip('-n', this.underlay, 'link', 'add', 'br0', 'type', 'bridge');
    ip('-n', this.underlay, 'link', 'set', 'br0', 'up');
    this.netnsAdd(this.outside);
    this.plug(this.outside, 'out', 'eth0', OUTSIDE_IP, OUTSIDE_IP6);
    for (const n of this.nodes) {
      this.netnsAdd(n.ns);
      this.plug(n.ns, `n${n.index}`, 'ul0', n.publicIP, n.publicIP6);
      execFileSync('ip', ['netns', 'exec', n.ns, 'sysctl', '-qw', 'net.ipv4.ip_forward=1']);
    }
  }

  /** The node's directory: its cluster file (or hand-written subnet.env) and its flannel conflist. */
  private configure(n: LabNode): void {
    mkdirSync(join(n.dir, 'conf'), { recursive: true });
    if (this.o.etcd) {
      const cluster = {
        clusterCIDR: this.clusterCIDR,
        nodePrefixLength: 24,
        ...(this.o.clusterCIDR6 ? { clusterCIDR6: this.o.clusterCIDR6, nodePrefixLength6: 64 } : {}),
        backend: this.o.backend,
        // a prefix of the lab's own, so labs sharing an etcd never see each other's nodes
        etcd: { endpoints: this.o.etcd, prefix: `/fastcni-lab/${this.underlay}` },
        nodeName: n.name,
        publicIP: n.publicIP,
        leaseTTL: this.o.leaseTTL ?? 10,
        subnetFile: n.subnetFile,
        stateDir: join(n.dir, 'state'),
        netns: n.nsPath,
      };
      writeFileSync(n.clusterFile, JSON.stringify(cluster, null, 2));
    } else {
      const subnet = `10.244.${n.index + 1}`;
      writeFileSync(
        n.subnetFile,
        [`FLANNEL_NETWORK=${this.clusterCIDR}`, `FLANNEL_SUBNET=${subnet}.1/24`, 'FLANNEL_MTU=1500', 'FLANNEL_IPMASQ=false', ''].join('\n'),
      );
    }
    const conflist = {
      cniVersion: '1.0.0',
      name: NETWORK,
      plugins: [
        {
          type: 'flannel',
          subnetFile: n.subnetFile,
          dataDir: join(n.dir, 'flannel'),
          ipam: { dataDir: join(n.dir, 'ipam') },
          delegate: { bridge: this.bridge, hairpinMode: true, isDefaultGateway: true },
        },
      ],
    };
    writeFileSync(join(n.dir, 'conf', '10-flannel.conflist'), JSON.stringify(conflist, null, 2));
  }

  /** Start (or restart) the node's agent on its socket, with its cluster file when the lab has etcd. */
  async startAgent(n: LabNode): Promise<AgentProcess> {
    if (n.agent && n.agent.proc.exitCode === null && n.agent.proc.signalCode === null) return n.agent;
    n.agent = await spawnAgent({ socketPath: n.socketPath, args: this.o.etcd ? ['--cluster', n.clusterFile] : [] });
    return n.agent;
  }

  /** SIGTERM: the agent revokes its lease; routes and device in its node stay. */
  async stopAgent(n: LabNode): Promise<void> {
    await n.agent?.stop();
  }

  /** SIGKILL: the lease is left to expire. */
  async killAgent(n: LabNode): Promise<void> {
    await n.agent?.kill();
  }

  /** The cluster part of the node agent's status (undefined: the agent does not answer or has none). */
  async cluster(n: LabNode): Promise<ClusterStatus | undefined> {
    try {
      return (await agentStatus(n.socketPath, 2000)).cluster;
    } catch {
      return undefined;
    }
  }

  /** Wait until every one of `nodes` has its subnet.env (and, with etcd, reports a lease); ms taken. */
  waitLeased(nodes: LabNode[], ms: number): Promise<number> {
    const views = new Map<string, ClusterStatus | undefined>();
    return waitUntil(
      'every node leased',
      async () => {
        await Promise.all(nodes.map(async (n) => views.set(n.name, this.o.etcd ? await this.cluster(n) : undefined)));
        return nodes.every((n) => existsSync(n.subnetFile) && (!this.o.etcd || views.get(n.name)?.leased === true));
      },
      { ms, every: 100, describe: () => Object.fromEntries(views) },
    );
  }

  /** Add a pod on `n` (`fastcni add` in the node namespace, through the launchers and the node's agent). */
  async addPod(n: LabNode): Promise<LabPod> {
    const ns = `${n.ns}-p${this.podSeq++}`;
    this.netnsAdd(ns);
    const env = {
      PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin',
      NETCONFPATH: join(n.dir, 'conf'),
      CNI_PATH: OUR_BIN,
      FASTCNI_CACHE_DIR: join(n.dir, 'cache'),
      FASTCNI_SOCKET: n.socketPath,
    };
    const r = await execWith('ip', ['netns', 'exec', n.ns, process.execPath, FASTCNI, 'add', NETWORK, ns, '--json'], env, '');
    const ips = ((r.json as { ips?: Array<{ address: string }> } | undefined)?.ips ?? []).map((a) => a.address.split('/')[0]!);
    const address = ips.find((a) => !a.includes(':'));
    const address6 = ips.find((a) => a.includes(':'));
    if (r.code !== 0 || !address || (this.o.clusterCIDR6 && !address6))
      throw new Error(`ADD of a pod on ${n.name} failed (${r.code}): ${r.stdout}${r.stderr}`);
    const pod = { node: n, ns, nsPath: `/var/run/netns/${ns}`, address, ...(address6 ? { address6 } : {}) };
    this.pods.push(pod);
    return pod;
  }

  /** `perNode` pods on every node, at most 8 ADDs at once. */
  async addPods(perNode: number): Promise<LabPod[]> {
    const live = this.nodes.filter((n) => !n.removed);
    return pool(live.length * perNode, 8, (i) => this.addPod(live[i % live.length]!));
  }

  /** Pods of the node. */
  podsOf(n: LabNode): LabPod[] {
    return this.pods.filter((p) => p.node === n);
  }

  /** Whether `ns` gets an answer from `address` (two echo requests; any reply counts). */
  async ping(ns: string, address: string): Promise<boolean> {
    try {
      const family = address.includes(':') ? '-6' : '-4';
      await run('ip', ['netns', 'exec', ns, 'ping', family, '-n', '-q', '-c', '2', '-i', '0.2', '-W', '2', address]);
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Every pod pings every other pod's address of `family` (6: address6), `limit` at once; the pairs
   * that got no answer ("from → to").
   */
  async pingAll(pods: LabPod[] = this.pods, limit = 16, family: 4 | 6 = 4): Promise<string[]> {
    const to = (p: LabPod) => (family === 6 ? (p.address6 ?? '(no IPv6 address)') : p.address);
    const pairs = pods.flatMap((a) => pods.filter((b) => b !== a).map((b) => [a, b] as const));
    const ok = await pool(pairs.length, limit, (i) => this.ping(pairs[i]![0].ns, to(pairs[i]![1])));
    return pairs.filter((_, i) => !ok[i]).map(([a, b]) => `${a.node.name}/${to(a)} → ${b.node.name}/${to(b)}`);
  }

  /** The node's main routing table of `family` (`ip -j -4|-6 route`). */
  routes(n: LabNode, family: 4 | 6 = 4): RouteJson[] {
    const out = ip('-j', `-${family}`, '-n', n.ns, 'route', 'show').trim();
    return (out ? JSON.parse(out) : []) as RouteJson[];
  }

  /** The node's routes to other nodes' pod subnets of `family`: inside the cluster CIDR, not on its own pod bridge. */
  peerRoutes(n: LabNode, family: 4 | 6 = 4): RouteJson[] {
    const range = family === 6 ? this.o.clusterCIDR6 : this.clusterCIDR;
    if (!range) return [];
    const cluster = parseCidr(range)!;
    return this.routes(n, family).filter((r) => {
      const dst = parseIp(r.dst.split('/')[0]!);
      return dst !== undefined && cidrContains(cluster, dst) && r.dev !== this.bridge;
    });
  }

  /** eth0's global IPv4 addresses of a pod, read from the kernel. */
  podAddresses(p: LabPod): string[] {
    const links = JSON.parse(ip('-j', '-n', p.ns, 'addr', 'show', 'dev', 'eth0')) as Array<{
      addr_info: Array<{ family: string; local: string; scope: string }>;
    }>;
    return (links[0]?.addr_info ?? []).filter((a) => a.family === 'inet' && a.scope === 'global').map((a) => a.local);
  }

  /** Remove a node: its agent stopped (SIGTERM, or SIGKILL with `hard`), its pods' and its own namespaces deleted. */
  async removeNode(n: LabNode, hard = false): Promise<void> {
    await (hard ? this.killAgent(n) : this.stopAgent(n));
    for (const p of this.podsOf(n)) this.netnsDel(p.ns);
    this.netnsDel(n.ns);
    n.removed = true;
  }

  private netnsDel(name: string): void {
    try {
      execFileSync('ip', ['netns', 'del', name], { stdio: 'ignore' });
    } catch {
      /* already gone */
    }
  }

  /** Kill every agent, delete every namespace, remove the directory (idempotent). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all(this.nodes.map((n) => n.agent?.kill()));
    // pods first: a node namespace's veths go with it, a pod's eth0 with its own namespace
    for (const name of [...this.namespaces].reverse()) this.netnsDel(name);
    rmSync(this.dir, { recursive: true, force: true, maxRetries: 5 });
  }
}
