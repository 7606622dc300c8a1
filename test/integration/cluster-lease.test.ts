// The cluster controller against real etcd and real node namespaces: distinct subnets and routes to
// every peer, the same subnet after a restart, a revoked peer's route gone within a second, lease
// loss while etcd is down (subnet.env removed, routes kept) and recovery, no Range while idle, and
// an exhausted cluster CIDR.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Etcd3 } from 'etcd3';
import { describe, expect, it, onTestFinished } from 'vitest';
import { agentStatus, jsonLogger, startAgent } from '../../src/agent/index.js';
import { parseClusterConfig, type ClusterController } from '../../src/cluster/index.js';
import { parseSubnetEnv } from '../../plugins/flannel/subnet-env.js';
import { cidrText } from '../../src/net/ip.js';
import { haveEtcd, startEtcd } from '../helpers/etcd.js';
import { nodeConfig, podRoutes, startController, testBackend, underlay, within, type SimNode } from '../helpers/cluster.js';
import { fastcni } from '../helpers/cli.js';
import { tempDir } from '../helpers/fixtures.js';

const isRoot = process.getuid?.() === 0;

/** The IPv4 subnet subnet.env gives the node, or undefined when there is no file. */
function envSubnet(node: SimNode): string | undefined {
  if (!existsSync(node.subnetFile)) return undefined;
  const env = parseSubnetEnv(readFileSync(node.subnetFile, 'utf8'), node.subnetFile);
  return env.subnet && cidrText(env.subnet);
}

/** What `node` should route to: every other controller's subnet via its node's address. */
function expectedRoutes(all: Array<{ node: SimNode; c: ClusterController }>, self: SimNode): string[] {
  return all
    .filter((x) => x.node !== self)
    .map((x) => `${x.c.status().subnets[0]} via ${x.node.publicIP}`)
    .sort();
}

/** etcd's count of Range calls started, from its /metrics. */
async function rangeCalls(clientUrl: string): Promise<number> {
  const text = await (await fetch(`${clientUrl}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith('grpc_server_started_total') && l.includes('grpc_method="Range"'));
  if (!line) throw new Error(`etcd's /metrics has no Range counter:\n${text.slice(0, 2000)}`);
  return Number(line.split(' ').pop());
}

describe.runIf(isRoot && haveEtcd)('cluster controller with etcd', () => {
  it('three nodes: distinct subnets, routes to every peer, subnet.env the flannel plugin reads; no Range while idle', async () => {
    const etcd = await startEtcd();
    const nodes = underlay(3);
    const backend = await testBackend();
    const all: Array<{ node: SimNode; c: ClusterController }> = [];
    for (const node of nodes) all.push({ node, c: await startController(nodeConfig(node, etcd.endpoints), backend) });
    await Promise.all(all.map((x) => x.c.leased()));
    const subnets = all.map((x) => x.c.status().subnets[0]);
    expect(new Set(subnets).size).toBe(3);
    for (const { node, c } of all) {
      const s = c.status();
      // the address came from the node's namespace: the one on the default route's link
      expect(s.publicIP).toBe(node.publicIP);
      expect(s.leased).toBe(true);
      expect(envSubnet(node)).toBe(s.subnets[0]);
      await within(1000, `routes of ${node.ns.name}`, async () => {
        return JSON.stringify(await podRoutes(node)) === JSON.stringify(expectedRoutes(all, node));
      });
      expect(
        c
          .status()
          .peers.map((p) => p.node)
          .sort(),
      ).toEqual(
        all
          .filter((x) => x.node !== node)
          .map((x) => x.c.config.nodeName)
          .sort(),
      );
    }

    // idle: keep-alives only, no list read again
    const before = await rangeCalls(etcd.endpoints[0]!);
    // each controller read the list (and took its key) with Range calls: the counter sees ours
    expect(before).toBeGreaterThanOrEqual(3);
    const events = all.map((x) => x.c.status().watchEvents);
    await sleep(5000);
    expect(await rangeCalls(etcd.endpoints[0]!)).toBe(before);
    expect(all.map((x) => x.c.status().watchEvents)).toEqual(events);
    expect(all.every((x) => x.c.status().leased)).toBe(true);
  });

  it('a stopped node revokes its lease: its route leaves the peers within 1 s; restarted, it leases the same subnet', async () => {
    const etcd = await startEtcd();
    const nodes = underlay(3);
    const backend = await testBackend();
    const cfg = nodes.map((n) => nodeConfig(n, etcd.endpoints));
    const cs = [];
    for (const c of cfg) cs.push(await startController(c, backend));
    await Promise.all(cs.map((c) => c.leased()));
    const gone = cs[1]!.status().subnets[0]!;
    await within(1000, 'peers routed', async () => (await podRoutes(nodes[0]!)).length === 2 && (await podRoutes(nodes[2]!)).length === 2);

    await cs[1]!.stop();
    expect(existsSync(nodes[1]!.subnetFile)).toBe(false);
    for (const n of [nodes[0]!, nodes[2]!]) {
      const ms = await within(
        1000,
        `route to ${gone} removed from ${n.ns.name}`,
        async () => !(await podRoutes(n)).some((r) => r.startsWith(gone)),
      );
      expect(ms).toBeLessThan(1000);
    }
    // the stopped node keeps its own routes (its pods keep working until it is back)
    expect((await podRoutes(nodes[1]!)).length).toBe(2);

    // a newcomer must not take the freed subnet from under a restarted node: the restart wins it by stateDir
    const again = await startController(cfg[1]!, backend);
    await again.leased();
    expect(again.status().subnets[0]).toBe(gone);
    expect(envSubnet(nodes[1]!)).toBe(gone);
    await within(1000, 'route back', async () => (await podRoutes(nodes[0]!)).some((r) => r.startsWith(gone)));
  });

  it('a node whose state directory names a subnet leases that one, not the lowest free', async () => {
    const etcd = await startEtcd();
    const [node] = underlay(1);
    const { mkdirSync } = await import('node:fs');
    mkdirSync(node!.stateDir, { recursive: true });
    writeFileSync(join(node!.stateDir, 'subnet'), '10.244.42.0/24\n');
    const c = await startController(nodeConfig(node!, etcd.endpoints), await testBackend());
    await c.leased();
    expect(c.status().subnets).toEqual(['10.244.42.0/24']);
  });

  it('etcd down longer than the TTL: subnet.env removed, routes kept; back: the same subnet again', async () => {
    const etcd = await startEtcd();
    const nodes = underlay(2);
    const backend = await testBackend();
    const [a, b] = [
      await startController(nodeConfig(nodes[0]!, etcd.endpoints), backend),
      await startController(nodeConfig(nodes[1]!, etcd.endpoints), backend),
    ];
    await Promise.all([a.leased(), b.leased()]);
    const mine = a.status().subnets[0]!;
    await within(1000, 'routed', async () => (await podRoutes(nodes[0]!)).length === 1);
    const routes = await podRoutes(nodes[0]!);

    await etcd.members[0]!.stop(true);
    // TTL 2 s: the lease counts as lost once a keep-alive has gone unanswered that long
    // (the client alone would give up only after 2 × TTL)
    await within(3000, 'subnet.env removed', () => !existsSync(nodes[0]!.subnetFile));
    expect(a.status().leased).toBe(false);
    expect(a.status().lastError).toMatch(/lease lost/);
    await sleep(1000);
    expect(await podRoutes(nodes[0]!)).toEqual(routes);

    await etcd.members[0]!.start();
    const ms = await within(5000, 'subnet.env written again', () => existsSync(nodes[0]!.subnetFile) && existsSync(nodes[1]!.subnetFile));
    expect(envSubnet(nodes[0]!)).toBe(mine);
    expect(a.status()).toMatchObject({ leased: true, subnets: [mine] });
    expect(await podRoutes(nodes[0]!)).toEqual(routes);
    // etcd answers again within about a second of its start; the client must not wait out a long back-off
    expect(ms).toBeLessThan(2500);
  });

  it('our key deleted by someone else: subnet.env removed, then the same subnet leased again', async () => {
    const etcd = await startEtcd();
    const [node] = underlay(1);
    const c = await startController(nodeConfig(node!, etcd.endpoints), await testBackend());
    await c.leased();
    const mine = c.status().subnets[0]!;
    const removed: number[] = [];
    const watcher = setInterval(() => existsSync(node!.subnetFile) || removed.push(Date.now()), 5);
    onTestFinished(() => clearInterval(watcher));
    const client = new Etcd3({ hosts: etcd.endpoints });
    onTestFinished(() => client.close());
    await client.delete().key(`/fcni-test/subnets/${mine.replace('/', '-')}`);
    await within(1000, 'subnet.env removed', () => removed.length > 0);
    await within(2000, 'leased again', () => c.status().leased && existsSync(node!.subnetFile));
    expect(envSubnet(node!)).toBe(mine);
    expect(await client.get(`/fcni-test/subnets/${mine.replace('/', '-')}`).string()).toContain(`"node":"${c.config.nodeName}"`);
  });

  it('an exhausted cluster CIDR: a clear error, no subnet.env; a subnet freed is leased at once', async () => {
    const etcd = await startEtcd();
    const nodes = underlay(3);
    const backend = await testBackend();
    const small = { clusterCIDR: '10.244.0.0/23' };
    const a = await startController(nodeConfig(nodes[0]!, etcd.endpoints, small), backend);
    const b = await startController(nodeConfig(nodes[1]!, etcd.endpoints, small), backend);
    await Promise.all([a.leased(), b.leased()]);
    const c = await startController(nodeConfig(nodes[2]!, etcd.endpoints, small), backend);
    await within(3000, 'exhaustion reported', () => c.status().lastError !== undefined);
    expect(c.status().lastError).toBe('no free subnet: all 2 /24 subnets of clusterCIDR 10.244.0.0/23 are leased by other nodes');
    expect(c.status().leased).toBe(false);
    expect(existsSync(nodes[2]!.subnetFile)).toBe(false);
    const freed = b.status().subnets[0];
    await b.stop();
    await within(1500, 'the freed subnet leased', () => c.status().leased);
    expect(c.status().subnets[0]).toBe(freed);
  });

  it('the agent runs the controller: status and metrics carry it, close() revokes the lease', async () => {
    const etcd = await startEtcd();
    const nodes = underlay(2);
    const backend = await testBackend();
    const peer = await startController(nodeConfig(nodes[1]!, etcd.endpoints), backend);
    const socketPath = join(tempDir('cluster-agent'), 'agent.sock');
    const agent = await startAgent({
      socketPath,
      metricsPort: 0,
      logger: jsonLogger('error', () => {}),
      cluster: parseClusterConfig(nodeConfig(nodes[0]!, etcd.endpoints)),
      ...(backend ? { clusterBackend: backend } : {}),
    });
    let closed = false;
    onTestFinished(() => (closed ? undefined : agent.close()));
    await within(3000, 'agent leased', () => agent.status().cluster?.leased === true && agent.status().cluster!.peers.length === 1);
    const s = await agentStatus(socketPath);
    expect(s.cluster).toMatchObject({ node: `node-${nodes[0]!.publicIP}`, backend: 'host-gw', leased: true, publicIP: nodes[0]!.publicIP });
    expect(s.cluster!.peers).toEqual([
      expect.objectContaining({ node: peer.config.nodeName, subnets: peer.status().subnets, publicIP: nodes[1]!.publicIP }),
    ]);
    expect(s.cluster!.syncs).toBeGreaterThan(0);
    const metrics = await (await fetch(`http://127.0.0.1:${agent.metricsPort}/metrics`)).text();
    expect(metrics).toContain(`fastcni_cluster_leased{node="node-${nodes[0]!.publicIP}"} 1`);
    expect(metrics).toContain(`fastcni_cluster_peers{node="node-${nodes[0]!.publicIP}"} 1`);
    expect(metrics).toMatch(/fastcni_cluster_watch_events_total\{node="[^"]+"\} \d+/);
    expect(metrics).toMatch(/fastcni_cluster_syncs_total\{node="[^"]+"\} [1-9]/);
    const text = await fastcni(['agent', 'status', '--socket', socketPath]);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain(`cluster: node node-${nodes[0]!.publicIP}, host-gw, leased ${s.cluster!.subnets[0]}`);
    expect(text.stdout).toContain(`peer ${peer.config.nodeName}: ${peer.status().subnets[0]} via ${nodes[1]!.publicIP}`);

    closed = true;
    await agent.close();
    expect(existsSync(nodes[0]!.subnetFile)).toBe(false);
    await within(1000, 'the peer saw the lease revoked', () => peer.status().peers.length === 0);
  });

  it('fastcni agent --cluster with a bad file exits 1 naming the field', async () => {
    const dir = tempDir('cluster-cli');
    const file = join(dir, 'cluster.json');
    writeFileSync(file, JSON.stringify({ clusterCIDR: '10.244.0.0/16', nodePrefixLength: 8, etcd: { endpoints: ['http://127.0.0.1:1'] } }));
    const r = await fastcni(['agent', '--socket', join(dir, 'a.sock'), '--cluster', file]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${file}: nodePrefixLength: 8 is shorter than clusterCIDR's /16`);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});
