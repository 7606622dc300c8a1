// `make bench-cluster`: the cluster controller at scale, on the simulated cluster of the multi-node
// tests (test/helpers/cluster-lab.ts) with etcd on a loopback port of its own. Per backend: join
// latency (a node's lease → each peer's agent synced / each peer's first echo reply), routes of our
// protocol per node after every leave and join, and what etcd and the agents do in an idle window.
// Not a timed test: figures, a table and one JSON line. Everything is removed at the end, on error
// and on Ctrl-C.
// node dist/benchmarks/cluster-scale.js [--nodes 20] [--joins 10] [--backend both] [--idle-seconds 10]
import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { loadavg } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { Command } from 'commander';
import type { RegistryEntry } from '../src/cluster/registry.js';
import { Registry } from '../src/cluster/registry.js';
import { cidrText, formatIp, parseCidr } from '../src/net/ip.js';
import { type Backend, ClusterLab, type LabNode, waitUntil } from '../test/helpers/cluster-lab.js';
import { type EtcdCluster, haveEtcd, launchEtcd } from '../test/helpers/etcd.js';
import { percentile, round } from './stats.js';

const o = new Command('fastcni-bench-cluster')
  .description('join latency, routes per node and idle etcd traffic of the cluster controller on simulated nodes')
  .option('--nodes <n>', 'simulated nodes', '20')
  .option('--joins <n>', 'joins measured (a node leaves and joins again, a different node each time)', '10')
  .option('--backend <b>', 'host-gw, vxlan or both', 'both')
  .option('--idle-seconds <s>', 'length of the idle window', '10')
  .option('--lease-ttl <s>', "the agents' lease TTL (seconds)", '10')
  .parse()
  .opts<{ nodes: string; joins: string; backend: string; idleSeconds: string; leaseTtl: string }>();

function int(name: string, v: string, min: number): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) {
    console.error(`bench-cluster: ${name} must be an integer ≥ ${min}, got ${v}`);
    process.exit(2);
  }
  return n;
}

/** The goal of issue 14: a joining node reachable from every peer within this, at p95. */
const GOAL_MS = 1000;
/** Echo requests every PING_INTERVAL ms while a join is measured: the reply times' resolution. */
const PING_INTERVAL = 20;

interface Pair {
  join: number;
  node: string;
  peer: string;
  /** peer's agent status: syncedAt of the new node − its leasedAt */
  syncMs: number;
  /** first echo reply from the new node's subnet address at the peer − leasedAt */
  pingMs: number;
}

interface Dist {
  n: number;
  p50: number;
  p95: number;
  max: number;
}

interface BackendResult {
  backend: Backend;
  nodes: number;
  joins: number;
  /** the route protocol the agents' routes carry (as `ip -j route` names it) */
  protocol: string;
  /** the benchmark's own watch saw the key − leasedAt, per join */
  watch: Dist;
  sync: Dist;
  ping: Dist;
  goalMet: boolean;
  /** after a node left: every other node had exactly its peers' subnets, per leave; and after all joins */
  routesAfterLeave: { checks: number; exact: number };
  routesAfterJoins: { nodes: number; exact: number; perNode: number };
  /** SIGTERM → the node's routes gone from every peer (lease revoked), per leave */
  leave: Dist;
  /** its key's delete seen by the benchmark's watch → its route gone at a peer, per (leave, peer) */
  leaveAfterDelete: Dist;
  idle: IdleResult;
}

interface IdleResult {
  seconds: number;
  /** per "service/method": started streams or calls, messages received, messages sent */
  grpc: Record<string, { started: number; received: number; sent: number }>;
  rangeCalls: number;
  watchMessages: number;
  keepAlives: number;
  keepAlivesExpected: number;
  /** etcd's totals over all clients (it keeps no per-client figure) */
  bytesReceived?: number;
  bytesSent?: number;
  watchEvents: number;
  syncs: number;
  ok: boolean;
}

function dist(xs: number[]): Dist {
  const s = [...xs].sort((a, b) => a - b);
  return { n: s.length, p50: round(percentile(s, 50), 1), p95: round(percentile(s, 95), 1), max: round(s[s.length - 1] ?? NaN, 1) };
}

function ip(...args: string[]): string {
  return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Everything started here, stopped in reverse order by `cleanup()` (also from the signal handlers). */
const resources: Array<() => Promise<void> | void> = [];
let closing: Promise<void> | undefined;
function cleanup(): Promise<void> {
  closing ??= (async () => {
    for (const r of resources.splice(0).reverse()) {
      try {
        await r();
      } catch (e) {
        console.error(`bench-cluster: clean-up step failed: ${(e as Error).message}`);
      }
    }
  })();
  return closing;
}

// ── etcd's metrics ─────────────────────────────────────────────────────────────────────────────

type Metrics = Map<string, number>;

async function etcdMetrics(clientUrl: string): Promise<Metrics> {
  const text = await (await fetch(`${clientUrl}/metrics`, { signal: AbortSignal.timeout(5000) })).text();
  const m: Metrics = new Map();
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || !line.trim()) continue;
    const at = line.lastIndexOf(' ');
    m.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return m;
}

/** `grpc_server_<what>_total` deltas by "service/method". */
function grpcDeltas(a: Metrics, b: Metrics): IdleResult['grpc'] {
  const out: IdleResult['grpc'] = {};
  const kinds = { started: 'grpc_server_started_total', received: 'grpc_server_msg_received_total', sent: 'grpc_server_msg_sent_total' };
  for (const [key, v] of b) {
    for (const [kind, metric] of Object.entries(kinds) as Array<[keyof (typeof out)[string], string]>) {
      if (!key.startsWith(`${metric}{`)) continue;
      const method = /grpc_method="([^"]+)"/.exec(key)?.[1];
      const service = /grpc_service="([^"]+)"/.exec(key)?.[1]?.replace(/^etcdserverpb\./, '');
      if (!method) continue;
      const d = v - (a.get(key) ?? 0);
      const row = (out[`${service}/${method}`] ??= { started: 0, received: 0, sent: 0 });
      row[kind] += d;
    }
  }
  for (const [k, row] of Object.entries(out)) if (!row.started && !row.received && !row.sent) delete out[k];
  return out;
}

function sumDelta(a: Metrics, b: Metrics, metric: string): number | undefined {
  let found = false;
  let d = 0;
  for (const [key, v] of b)
    if (key === metric || key.startsWith(`${metric}{`)) {
      found = true;
      d += v - (a.get(key) ?? 0);
    }
  return found ? d : undefined;
}

// ── the lab's nodes as the benchmark sees them ────────────────────────────────────────────────────

interface NodeInfo {
  node: LabNode;
  subnet: string;
  /** the address a peer pings (vxlan: the device's subnet address; host-gw: the subnet's first, on a bridge) */
  target: string;
  /** the source the kernel picks for a packet to another node (vxlan: the same device address; host-gw: the underlay's) */
  source: string;
}

/** Whether `ip -j route` output holds exactly the subnets of `peers` as routes of `protocol` (no more, no fewer). */
function exactIn(json: string, protocol: string, peers: NodeInfo[]): boolean {
  const routes = (json.trim() ? JSON.parse(json) : []) as Array<{ dst: string; protocol?: string }>;
  const have = routes
    .filter((r) => r.protocol === protocol)
    .map((r) => r.dst)
    .sort();
  const want = peers.map((p) => p.subnet).sort();
  return have.length === want.length && have.every((d, i) => d === want[i]);
}

function exact(n: LabNode, protocol: string, peers: NodeInfo[]): boolean {
  return exactIn(ip('-j', '-n', n.ns, 'route', 'show'), protocol, peers);
}

const execAsync = promisify(execFile);

/**
 * Poll every node of `nodes` at once (one `ip -j route` each, in parallel, the done ones no more)
 * until each has exactly `peersOf(node)`; the epoch ms at which each was first seen so.
 */
async function whenExact(
  nodes: NodeInfo[],
  protocol: string,
  peersOf: (n: NodeInfo) => NodeInfo[],
  ms: number,
): Promise<Map<string, number>> {
  const at = new Map<string, number>();
  const until = Date.now() + ms;
  for (;;) {
    const pending = nodes.filter((n) => !at.has(n.node.name));
    if (!pending.length) return at;
    if (Date.now() > until) throw new Error(`timed out after ${ms} ms: ${pending.map((n) => n.node.name).join(', ')} still not exact`);
    await Promise.all(
      pending.map(async (n) => {
        const { stdout } = await execAsync('ip', ['-j', '-n', n.node.ns, 'route', 'show']);
        if (exactIn(stdout, protocol, peersOf(n))) at.set(n.node.name, Date.now());
      }),
    );
    await sleep(10);
  }
}

/** The route protocol of the agents' routes, read from node 0's route to another node's subnet. */
function findProtocol(infos: NodeInfo[]): string {
  const first = infos[0]!;
  const out = JSON.parse(ip('-j', '-n', first.node.ns, 'route', 'show')) as Array<{ dst: string; protocol?: string }>;
  const protos = new Set(out.filter((r) => infos.slice(1).some((p) => p.subnet === r.dst)).map((r) => r.protocol ?? 'boot'));
  if (protos.size !== 1) throw new Error(`${first.node.name}: routes to peer subnets carry protocols ${[...protos].join(', ') || 'none'}`);
  const [proto] = protos;
  if (['kernel', 'boot', 'static'].includes(proto!)) throw new Error(`the agents' routes carry protocol ${proto}, not one of their own`);
  return proto!;
}

/**
 * A pinger per peer: `ping -i 0.02 -I <its source>` at `target`. A blackhole route for the cluster
 * CIDR (laid by `prepare`) lets ping start before the node's route exists (no route: ping exits at
 * once); the peer's /24 route wins over it as soon as its agent installs it. Resolves the epoch ms of
 * each first reply (ping -D's timestamp).
 */
function startPingers(peers: NodeInfo[], target: string): { first: Map<string, number>; procs: ChildProcess[]; stop(): void } {
  const first = new Map<string, number>();
  const procs = peers.map((p) => {
    const proc = spawn(
      'ip',
      ['netns', 'exec', p.node.ns, 'ping', '-n', '-D', '-i', String(PING_INTERVAL / 1000), '-W', '1', '-I', p.source, target],
      { stdio: ['ignore', 'pipe', 'ignore'] },
    );
    let buf = '';
    proc.stdout!.on('data', (d: Buffer) => {
      if (first.has(p.node.name)) return;
      buf += d.toString();
      const m = /^\[(\d+\.\d+)\] \d+ bytes from/m.exec(buf);
      if (m) {
        first.set(p.node.name, Number(m[1]) * 1000);
        proc.kill('SIGKILL');
      }
    });
    return proc;
  });
  const stop = () => {
    for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  };
  return { first, procs, stop };
}

/** In every node: the blackhole route pingers need; with host-gw, the subnet's first address on a bridge. */
function prepare(lab: ClusterLab, infos: NodeInfo[], backend: Backend): void {
  for (const i of infos) {
    ip('-n', i.node.ns, 'route', 'add', 'blackhole', lab.clusterCIDR);
    if (backend === 'host-gw') {
      ip('-n', i.node.ns, 'link', 'add', lab.bridge, 'type', 'bridge');
      ip('-n', i.node.ns, 'addr', 'add', `${i.target}/${i.subnet.split('/')[1]}`, 'dev', lab.bridge);
      ip('-n', i.node.ns, 'link', 'set', lab.bridge, 'up');
    }
  }
}

async function nodeInfos(lab: ClusterLab, backend: Backend): Promise<NodeInfo[]> {
  return Promise.all(
    lab.nodes.map(async (n) => {
      const c = await lab.cluster(n);
      const subnet = c?.subnets[0];
      const cidr = subnet ? parseCidr(subnet) : undefined;
      if (!cidr) throw new Error(`${n.name} reports no subnet`);
      const net = formatIp(cidr.ip);
      const firstAddr = formatIp({ ...cidr.ip, value: cidr.ip.value + 1n });
      const vx = backend === 'vxlan';
      return { node: n, subnet: cidrText(cidr), target: vx ? net : firstAddr, source: vx ? net : n.publicIP };
    }),
  );
}

// ── one backend ───────────────────────────────────────────────────────────────────────────────

async function runBackend(backend: Backend, nodes: number, joins: number, idleSeconds: number, leaseTTL: number): Promise<BackendResult> {
  const local: Array<() => Promise<void> | void> = [];
  const own = (f: () => Promise<void> | void) => {
    resources.push(f);
    local.push(f);
  };
  const release = async () => {
    for (const f of local.splice(0).reverse()) {
      resources.splice(resources.indexOf(f), 1);
      await f();
    }
  };
  try {
    const t0 = performance.now();
    // registered before they settle: a Ctrl-C during a start still finds them to remove
    const starting = launchEtcd(1);
    own(async () => (await starting.catch(() => undefined))?.close());
    const etcd: EtcdCluster = await starting;
    const creating = ClusterLab.create({
      prefix: `fcni-bc${process.pid % 10000}-`,
      nodes,
      backend,
      etcd: etcd.endpoints,
      leaseTTL,
      // an agent must listen within 5 s of its start (test/helpers/agent-process.ts): on a busy
      // 2-CPU machine one takes 2–3 s alone, so the 20 start two at a time
      startConcurrency: 2,
    });
    own(async () => (await creating.catch(() => undefined))?.close());
    const lab = await creating;
    console.log(`${backend}: ${nodes} nodes leased in ${((performance.now() - t0) / 1000).toFixed(1)} s (etcd ${etcd.endpoints[0]})`);

    // the benchmark's own watch: when each key reaches a watcher, and its leasedAt
    const seen = new Map<string, { at: number; leasedAt: number }>();
    const deleted = new Map<string, number>();
    const registry = new Registry(etcd.endpoints, `/fastcni-lab/${lab.underlay}`);
    own(() => registry.close());
    const { revision } = await registry.list();
    const watcher = await registry.watch(revision + 1n, {
      put: (e: RegistryEntry) => seen.set(e.record.node, { at: Date.now(), leasedAt: e.record.leasedAt }),
      delete: (name) => deleted.set(name, Date.now()),
      disconnected: () => {},
      reconnected: () => {},
    });
    own(() => watcher.cancel());

    const infos = await nodeInfos(lab, backend);
    const peersOf = (n: NodeInfo, live: (x: NodeInfo) => boolean = () => true) => infos.filter((x) => x !== n && live(x));
    await waitUntil(
      'every node synced with all the others',
      async () => (await Promise.all(lab.nodes.map((n) => lab.cluster(n)))).every((c) => c?.peers.length === nodes - 1 && c.syncs > 0),
      { ms: 30_000, every: 200 },
    );
    const protocol = findProtocol(infos);
    await waitUntil('every node has a route to every other', () => infos.every((i) => exact(i.node, protocol, peersOf(i))), {
      ms: 30_000,
      every: 200,
    });
    prepare(lab, infos, backend);

    const pairs: Pair[] = [];
    const watchMs: number[] = [];
    const leaveMs: number[] = [];
    const leaveAfterDeleteMs: number[] = [];
    const afterLeave = { checks: 0, exact: 0 };
    for (let j = 0; j < joins; j++) {
      const x = infos[(nodes - 1 - j) % nodes]!;
      const others = peersOf(x);
      // leave: SIGTERM revokes the lease; every other node must drop exactly x's subnet
      deleted.delete(x.subnet.replace('/', '-'));
      const left = Date.now();
      const stopping = lab.stopAgent(x.node);
      const gone = await whenExact(others, protocol, (p) => peersOf(p, (q) => q !== x), 15_000);
      await stopping;
      leaveMs.push(Math.max(...gone.values()) - left);
      // the key's name: the subnet with "/" as "-" (contract C)
      const del = deleted.get(x.subnet.replace('/', '-'));
      if (del === undefined) throw new Error(`the benchmark's watch saw no delete of ${x.node.name}'s key`);
      for (const t of gone.values()) leaveAfterDeleteMs.push(t - del);
      afterLeave.checks++;
      // settle: a check later still exact (no route comes back, none else goes)
      await sleep(200);
      if (
        others.every((p) =>
          exact(
            p.node,
            protocol,
            peersOf(p, (q) => q !== x),
          ),
        )
      )
        afterLeave.exact++;

      // join: the pingers run before the agent starts, so the first reply is the first packet through
      seen.delete(x.node.name);
      const pingers = startPingers(others, x.target);
      try {
        await lab.startAgent(x.node);
        await waitUntil(
          `every peer gets an echo reply from ${x.node.name} (${x.target})`,
          () => pingers.first.size === others.length && seen.has(x.node.name),
          {
            ms: 20_000,
            every: 10,
            describe: () => others.filter((p) => !pingers.first.has(p.node.name)).map((p) => p.node.name),
          },
        );
      } finally {
        pingers.stop();
      }
      const s = seen.get(x.node.name)!;
      watchMs.push(s.at - s.leasedAt);
      // syncedAt is per peer and rewritten by every later sync: read it before anything else changes
      const views = await Promise.all(others.map((p) => lab.cluster(p.node)));
      others.forEach((p, k) => {
        const synced = views[k]?.peers.find((q) => q.node === x.node.name)?.syncedAt;
        if (!synced) throw new Error(`${p.node.name}'s status has no synced peer ${x.node.name}`);
        pairs.push({
          join: j,
          node: x.node.name,
          peer: p.node.name,
          syncMs: synced - s.leasedAt,
          pingMs: pingers.first.get(p.node.name)! - s.leasedAt,
        });
      });
      await waitUntil('every node has a route to every other again', () => infos.every((i) => exact(i.node, protocol, peersOf(i))), {
        ms: 15_000,
        every: 50,
      });
      const ping = dist(pairs.filter((p) => p.join === j).map((p) => p.pingMs));
      console.log(`${backend}: join ${j + 1}/${joins} (${x.node.name}, ${x.subnet}): first reply p50 ${ping.p50} ms, max ${ping.max} ms`);
    }
    const afterJoins = infos.filter((i) => exact(i.node, protocol, peersOf(i))).length;

    // idle: nothing changes; etcd sees keep-alives only, the agents no watch event and no sync
    const member = etcd.members[0]!;
    const statuses = async () => Promise.all(lab.nodes.map((n) => lab.cluster(n)));
    await sleep(1000);
    const [m0, s0] = [await etcdMetrics(member.clientUrl), await statuses()];
    await sleep(idleSeconds * 1000);
    const [m1, s1] = [await etcdMetrics(member.clientUrl), await statuses()];
    const grpc = grpcDeltas(m0, m1);
    const sum = (xs: Array<{ watchEvents: number; syncs: number } | undefined>, k: 'watchEvents' | 'syncs') =>
      xs.reduce((acc, c) => acc + (c?.[k] ?? Number.NaN), 0);
    const watchMessages = (grpc['Watch/Watch']?.received ?? 0) + (grpc['Watch/Watch']?.sent ?? 0);
    const rangeCalls = grpc['KV/Range']?.started ?? 0;
    const keepAlives = grpc['Lease/LeaseKeepAlive']?.received ?? 0;
    const keepAlivesExpected = Math.round((nodes * idleSeconds) / (leaseTTL / 3));
    const watchEvents = sum(s1, 'watchEvents') - sum(s0, 'watchEvents');
    const syncs = sum(s1, 'syncs') - sum(s0, 'syncs');
    const bytesReceived = sumDelta(m0, m1, 'etcd_network_client_grpc_received_bytes_total');
    const bytesSent = sumDelta(m0, m1, 'etcd_network_client_grpc_sent_bytes_total');
    // the keep-alive timers are not aligned to the window: one per agent either way
    const idleOk =
      rangeCalls === 0 && watchMessages === 0 && watchEvents === 0 && syncs === 0 && Math.abs(keepAlives - keepAlivesExpected) <= nodes;
    const pingMs = pairs.map((p) => p.pingMs);
    const result: BackendResult = {
      backend,
      nodes,
      joins,
      protocol,
      watch: dist(watchMs),
      sync: dist(pairs.map((p) => p.syncMs)),
      ping: dist(pingMs),
      goalMet:
        percentile(
          [...pingMs].sort((a, b) => a - b),
          95,
        ) <= GOAL_MS,
      routesAfterLeave: afterLeave,
      routesAfterJoins: { nodes, exact: afterJoins, perNode: nodes - 1 },
      leave: dist(leaveMs),
      leaveAfterDelete: dist(leaveAfterDeleteMs),
      idle: {
        seconds: idleSeconds,
        grpc,
        rangeCalls,
        watchMessages,
        keepAlives,
        keepAlivesExpected,
        ...(bytesReceived !== undefined ? { bytesReceived } : {}),
        ...(bytesSent !== undefined ? { bytesSent } : {}),
        watchEvents,
        syncs,
        ok: idleOk,
      },
    };
    return result;
  } finally {
    await release();
  }
}

// ── output ────────────────────────────────────────────────────────────────────────────────────

function printResult(r: BackendResult): void {
  const row = (label: string, d: Dist) =>
    console.log(`  ${label.padEnd(34)} ${String(d.p50).padStart(8)} ${String(d.p95).padStart(8)} ${String(d.max).padStart(8)}   (${d.n})`);
  console.log(`\n${r.backend}: ${r.nodes} nodes, ${r.joins} joins, route protocol ${r.protocol}`);
  console.log(
    `  ${"ms after the new node's leasedAt".padEnd(34)} ${'p50'.padStart(8)} ${'p95'.padStart(8)} ${'max'.padStart(8)}   (samples)`,
  );
  row('key seen by a watcher', r.watch);
  row("peer's agent synced (syncedAt)", r.sync);
  row('peer gets an echo reply', r.ping);
  console.log(`  goal (reply p95 ≤ ${GOAL_MS} ms): ${r.goalMet ? 'met' : 'NOT met'}`);
  row('leave: SIGTERM → routes gone (all)', r.leave);
  row('leave: key deleted → route gone', r.leaveAfterDelete);
  console.log(
    `  routes of ours = peers' subnets: after each leave ${r.routesAfterLeave.exact}/${r.routesAfterLeave.checks} exact on every node; after the joins ${r.routesAfterJoins.exact}/${r.routesAfterJoins.nodes} nodes with exactly ${r.routesAfterJoins.perNode}`,
  );
  const i = r.idle;
  console.log(`  idle ${i.seconds} s: ${i.ok ? 'ok' : 'NOT as expected'}`);
  console.log(
    `    Range calls ${i.rangeCalls}, Watch messages ${i.watchMessages}, LeaseKeepAlive messages ${i.keepAlives} (expected ≈ ${i.keepAlivesExpected}: ${r.nodes} agents × ${i.seconds} s / (TTL/3))`,
  );
  console.log(`    agents: watch events ${i.watchEvents}, backend syncs ${i.syncs}`);
  if (i.bytesReceived !== undefined)
    console.log(`    etcd client bytes (all clients; etcd has no per-client figure): received ${i.bytesReceived}, sent ${i.bytesSent}`);
  for (const [m, d] of Object.entries(i.grpc))
    console.log(`    ${m.padEnd(28)} started ${d.started}, received ${d.received}, sent ${d.sent}`);
}

async function main(): Promise<number> {
  if (!haveEtcd) {
    console.error('bench-cluster: no /usr/bin/etcd (make setup installs etcd-server)');
    return 2;
  }
  const nodes = int('--nodes', o.nodes, 2);
  const joins = int('--joins', o.joins, 1);
  const idleSeconds = int('--idle-seconds', o.idleSeconds, 1);
  const leaseTTL = int('--lease-ttl', o.leaseTtl, 1);
  const backends: Backend[] =
    o.backend === 'both' ? ['host-gw', 'vxlan'] : o.backend === 'host-gw' || o.backend === 'vxlan' ? [o.backend] : [];
  if (!backends.length) {
    console.error(`bench-cluster: --backend must be host-gw, vxlan or both, got ${o.backend}`);
    return 2;
  }
  const onSignal = () => void cleanup().then(() => process.exit(130));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const load = () => loadavg().map((x) => x.toFixed(2));
  console.log(
    `bench-cluster: ${nodes} nodes, ${joins} joins, ${backends.join(' + ')}, idle ${idleSeconds} s, lease TTL ${leaseTTL} s; load average ${load().join(' ')}`,
  );
  const results: BackendResult[] = [];
  try {
    for (const b of backends) results.push(await runBackend(b, nodes, joins, idleSeconds, leaseTTL));
  } finally {
    await cleanup();
  }
  const loadEnd = load();
  for (const r of results) printResult(r);
  console.log(`\nload average at the end ${loadEnd.join(' ')} (1, 5, 15 min)`);
  console.log(JSON.stringify({ bench: 'cluster-scale', loadavg: loadEnd.map(Number), results }));
  return results.every(
    (r) => r.goalMet && r.idle.ok && r.routesAfterLeave.exact === r.routesAfterLeave.checks && r.routesAfterJoins.exact === r.nodes,
  )
    ? 0
    : 1;
}

main().then(
  (code) => process.exit(code),
  async (e: unknown) => {
    console.error(`bench-cluster: ${e instanceof Error ? e.message : String(e)}`);
    await cleanup();
    process.exit(1);
  },
);
