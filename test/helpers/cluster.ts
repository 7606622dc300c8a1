// Simulated nodes for the cluster tests: node namespaces on one underlay bridge (in a namespace of
// its own), and controllers on them, each stopped when the test ends.
import { setTimeout as sleep } from 'node:timers/promises';
import { join } from 'node:path';
import { onTestFinished } from 'vitest';
import { ClusterController, parseClusterConfig, type ClusterConfigInput } from '../../src/cluster/index.js';
import { routeList } from '../../src/native.js';
import { tempDir } from './fixtures.js';
import { ip, makeNetns, type Netns } from './netns.js';

export interface SimNode {
  ns: Netns;
  /** its underlay address */
  publicIP: string;
  /** its own directory: subnet.env and the state directory */
  dir: string;
  subnetFile: string;
  stateDir: string;
}

/** `count` nodes on 192.168.77.0/24 (node i is .i+1), each with a default route via .254. */
export function underlay(count: number): SimNode[] {
  const ul = makeNetns('ul');
  ip('-n', ul.name, 'link', 'add', 'br0', 'type', 'bridge');
  ip('-n', ul.name, 'link', 'set', 'br0', 'up');
  return Array.from({ length: count }, (_, i) => {
    const ns = makeNetns(`n${i}`);
    const publicIP = `192.168.77.${i + 1}`;
    ip('-n', ns.name, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', `p${i}`, 'netns', ul.name);
    ip('-n', ul.name, 'link', 'set', `p${i}`, 'master', 'br0', 'up');
    ip('-n', ns.name, 'addr', 'add', `${publicIP}/24`, 'dev', 'eth0');
    ip('-n', ns.name, 'link', 'set', 'eth0', 'up');
    ip('-n', ns.name, 'route', 'add', 'default', 'via', '192.168.77.254');
    const dir = tempDir(`node${i}`);
    return { ns, publicIP, dir, subnetFile: join(dir, 'run', 'subnet.env'), stateDir: join(dir, 'state') };
  });
}

/** The cluster file's fields for `node` (its paths, its namespace, its name), plus `extra`. */
export function nodeConfig(node: SimNode, endpoints: string[], extra: Partial<ClusterConfigInput> = {}): ClusterConfigInput {
  return {
    clusterCIDR: '10.244.0.0/16',
    etcd: { endpoints, prefix: '/fcni-test' },
    nodeName: `node-${node.publicIP}`,
    leaseTTL: 2,
    subnetFile: node.subnetFile,
    stateDir: node.stateDir,
    netns: node.ns.path,
    ...extra,
  };
}

/** Start a controller (stopped when the test ends, if still running). */
export async function startController(input: ClusterConfigInput): Promise<ClusterController> {
  const c = new ClusterController(parseClusterConfig(input));
  onTestFinished(() => c.stop());
  await c.start();
  return c;
}

/** Routes of `node` to pod subnets: "dst via gw". */
export async function podRoutes(node: SimNode): Promise<string[]> {
  return (await routeList(node.ns.path))
    .filter((r) => r.dst.startsWith('10.244.') && r.gw)
    .map((r) => `${r.dst} via ${r.gw}`)
    .sort();
}

/** Poll `check` every 20 ms until it returns true; the time it took in ms, or throw after `ms`. */
export async function within(ms: number, what: string, check: () => boolean | Promise<boolean>): Promise<number> {
  const t0 = Date.now();
  for (;;) {
    if (await check()) return Date.now() - t0;
    if (Date.now() - t0 > ms) throw new Error(`not within ${ms} ms: ${what}`);
    await sleep(20);
  }
}
