// Masquerade only for traffic that leaves the cluster: bridge and ptp networks with
// nonMasqueradeCIDRs, and flannel's delegate that gets the flannel network as its exemption. A "remote node" namespace
// behind the node's uplink holds another node's pod address and an outside address; the pod's
// packets leave the node for both, and the receiver tells which source it saw.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bridgeConf, cidrsOf, cni, nodeAndPod, tempDir } from '../helpers/fixtures.js';
import { flannelPlugin, writeSubnetEnv } from '../helpers/flannel.js';
import { inNs, ip, makeNetns, type Netns } from '../helpers/netns.js';
import { masqElements, ourObjects } from '../helpers/nft.js';
import { serve, talk } from '../helpers/portmap.js';
import { ptpConf } from '../helpers/ptp.js';

const REMOTE_POD = '10.244.2.5';
const OUTSIDE = '198.51.100.7';
const NODE_UPLINK = '192.0.2.1';
const CLUSTER = '10.244.0.0/16';

/** Another node behind the node's uplink, holding a remote pod address and an outside one, with a server on both. */
async function remoteNode(node: Netns): Promise<Netns> {
  const remote = makeNetns('remote');
  ip('-n', node.name, 'link', 'add', 'uplink', 'type', 'veth', 'peer', 'name', 'wan', 'netns', remote.name);
  ip('-n', node.name, 'addr', 'add', `${NODE_UPLINK}/24`, 'dev', 'uplink');
  ip('-n', node.name, 'link', 'set', 'uplink', 'up');
  ip('-n', remote.name, 'addr', 'add', '192.0.2.2/24', 'dev', 'wan');
  ip('-n', remote.name, 'link', 'set', 'wan', 'up');
  ip('-n', remote.name, 'addr', 'add', `${REMOTE_POD}/32`, 'dev', 'lo');
  ip('-n', remote.name, 'addr', 'add', `${OUTSIDE}/32`, 'dev', 'lo');
  // as a multi-node cluster routes it: each node's pod subnet via that node
  ip('-n', node.name, 'route', 'add', '10.244.2.0/24', 'via', '192.0.2.2');
  ip('-n', node.name, 'route', 'add', '198.51.100.0/24', 'via', '192.0.2.2');
  ip('-n', remote.name, 'route', 'add', '10.244.1.0/24', 'via', NODE_UPLINK);
  await serve(remote, 'tcp', 8080, 'seen');
  return remote;
}

/** The source addresses the remote node sees from the pod: toward a remote pod, toward the outside. */
async function sourcesSeen(pod: Netns): Promise<[string, string]> {
  return [await talk(pod, 'tcp', REMOTE_POD, 8080), await talk(pod, 'tcp', OUTSIDE, 8080)];
}

/** Our set's name for a (network, subnet, exemptions), computed here rather than asked of our code. */
function setName(network: string, subnet: string, exempt: string[]): string {
  return `masq-${createHash('sha256')
    .update([network, subnet, ...exempt].join('\n'))
    .digest('hex')
    .slice(0, 16)}`;
}

/** The masquerade rules of the node as nft prints them. */
function masqRules(node: Netns): string[] {
  return inNs(node.name, 'nft', 'list', 'chain', 'inet', 'fastcni', 'postrouting')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.endsWith('masquerade'));
}

/** Nothing of ours left in the masquerade table but its base chain and multicast returns. */
function expectNoMasq(node: Netns): void {
  expect(masqElements(node)).toEqual([]);
  const objs = ourObjects(node);
  expect(objs.sets).toEqual([]);
  expect(objs.rules).toEqual(['inet postrouting', 'inet postrouting']);
}

const exemptConf = (dataDir: string, list: string[] | undefined, cniVersion = '1.0.0') =>
  bridgeConf({ dataDir, cniVersion, subnet: '10.244.1.0/24', extra: list ? { nonMasqueradeCIDRs: list } : {} });

describe('bridge nonMasqueradeCIDRs', () => {
  it('a pod keeps its address toward the cluster and is masqueraded beyond it; DEL leaves nothing', async () => {
    const { node, pod } = nodeAndPod();
    await remoteNode(node);
    const conf = exemptConf(tempDir('ipam'), [CLUSTER, 'fd00:10:244::/56']);
    const add = await cni('ADD', { node, pod, id: 'ctr-x', conf });
    expect(add.code, add.stdout).toBe(0);
    expect(cidrsOf(pod, 'eth0')).toEqual(['10.244.1.2/24']);
    expect(await sourcesSeen(pod)).toEqual(['seen 10.244.1.2', `seen ${NODE_UPLINK}`]);
    // the rule as nft reads it back: the subnet, then only the exemption of its own family
    expect(masqRules(node)).toEqual([
      `ip saddr @${setName('testnet', '10.244.1.0/24', [CLUSTER])} ip daddr != 10.244.1.0/24 ip daddr != ${CLUSTER} masquerade`,
    ]);
    expect(masqElements(node)).toHaveLength(1);
    // the same pod without the exemption: NATed toward the remote pod too (the rule is what decides)
    expect((await cni('DEL', { node, pod, id: 'ctr-x', conf })).code).toBe(0);
    expectNoMasq(node);
    const plain = { ...conf, nonMasqueradeCIDRs: undefined };
    expect((await cni('ADD', { node, pod, id: 'ctr-y', conf: plain })).code).toBe(0);
    expect(await sourcesSeen(pod)).toEqual([`seen ${NODE_UPLINK}`, `seen ${NODE_UPLINK}`]);
    expect(masqRules(node)).toEqual([`ip saddr @${setName('testnet', '10.244.1.0/24', [])} ip daddr != 10.244.1.0/24 masquerade`]);
    expect((await cni('DEL', { node, pod, id: 'ctr-y', conf: plain })).code).toBe(0);
    expectNoMasq(node);
  });

  it('DEL after the list changed removes the element of the old list; GC removes the rest', async () => {
    const node = makeNetns('node');
    const pods = [makeNetns('pod'), makeNetns('pod'), makeNetns('pod')];
    const dataDir = tempDir('ipam');
    const before = exemptConf(dataDir, [CLUSTER], '1.1.0');
    const after = exemptConf(dataDir, ['10.0.0.0/8'], '1.1.0');
    for (const [i, conf] of [before, before, after].entries()) {
      const add = await cni('ADD', { node, pod: pods[i], id: `ctr-${i}`, conf });
      expect(add.code, add.stdout).toBe(0);
    }
    const oldSet = setName('testnet', '10.244.1.0/24', [CLUSTER]);
    const newSet = setName('testnet', '10.244.1.0/24', ['10.0.0.0/8']);
    expect(ourObjects(node).sets).toEqual([oldSet, newSet].sort().map((s) => `inet ${s} testnet 10.244.1.0/24`));
    expect(masqElements(node)).toHaveLength(3);
    // ctr-0 was added under the old list and is deleted under the new one: its element still goes
    expect((await cni('DEL', { node, pod: pods[0], id: 'ctr-0', conf: after })).code).toBe(0);
    expect(masqElements(node).filter((e) => e.includes('ctr-0'))).toEqual([]);
    expect(masqElements(node)).toHaveLength(2);
    // and with its pod namespace gone (elements found without the link's addresses)
    ip('netns', 'del', pods[1]!.name);
    expect((await cni('DEL', { node, pod: pods[1], id: 'ctr-1', conf: after })).code).toBe(0);
    expect(ourObjects(node).sets).toEqual([`inet ${newSet} testnet 10.244.1.0/24`]);
    // GC with no valid attachment: the element of the new list and its set go too
    const gc = await cni('GC', { node, id: '', conf: { ...after, 'cni.dev/valid-attachments': [] } });
    expect(gc.code, gc.stdout).toBe(0);
    expectNoMasq(node);
    expect(readdirSync(join(dataDir, 'testnet')).filter((f) => f.startsWith('10.'))).toEqual([]);
  });
});

describe('ptp nonMasqueradeCIDRs', () => {
  it('the same through ptp; its DEL under another list leaves nothing', async () => {
    const { node, pod } = nodeAndPod();
    await remoteNode(node);
    const ranges = [[{ subnet: '10.244.1.0/24' }]];
    const conf = ptpConf({ dataDir: tempDir('ipam'), ranges, extra: { nonMasqueradeCIDRs: [CLUSTER] } });
    const add = await cni('ADD', { node, pod, id: 'ctr-p', conf });
    expect(add.code, add.stdout).toBe(0);
    expect(await sourcesSeen(pod)).toEqual(['seen 10.244.1.2', `seen ${NODE_UPLINK}`]);
    expect(masqRules(node)).toEqual([
      `ip saddr @${setName('ptpnet', '10.244.1.0/24', [CLUSTER])} ip daddr != 10.244.1.0/24 ip daddr != ${CLUSTER} masquerade`,
    ]);
    const changed = { ...conf, nonMasqueradeCIDRs: ['10.0.0.0/8'] };
    expect((await cni('DEL', { node, pod, id: 'ctr-p', conf: changed })).code).toBe(0);
    expectNoMasq(node);
  });
});

describe('flannel: the delegate exempts the flannel network', () => {
  it('pod → remote pod keeps its address, pod → outside is masqueraded; DEL leaves nothing', async () => {
    const { node, pod } = nodeAndPod();
    await remoteNode(node);
    const dir = tempDir('flannel');
    writeSubnetEnv(dir, `FLANNEL_NETWORK=${CLUSTER}\nFLANNEL_SUBNET=10.244.1.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=false\n`);
    const conf = { cniVersion: '1.0.0', name: 'cbr0', ...flannelPlugin(dir) };
    const add = await cni('ADD', { node, pod, id: 'ctr-f', conf, plugin: 'flannel' });
    expect(add.code, add.stdout).toBe(0);
    expect(JSON.parse(readFileSync(join(dir, 'flannel', 'ctr-f'), 'utf8'))).toMatchObject({ ipMasq: true, nonMasqueradeCIDRs: [CLUSTER] });
    expect(cidrsOf(pod, 'eth0')).toEqual(['10.244.1.2/24']);
    expect(await sourcesSeen(pod)).toEqual(['seen 10.244.1.2', `seen ${NODE_UPLINK}`]);
    expect(masqRules(node)).toEqual([
      `ip saddr @${setName('cbr0', '10.244.1.0/24', [CLUSTER])} ip daddr != 10.244.1.0/24 ip daddr != ${CLUSTER} masquerade`,
    ]);
    expect((await cni('DEL', { node, pod, id: 'ctr-f', conf, plugin: 'flannel' })).code).toBe(0);
    expectNoMasq(node);
    expect(readdirSync(join(dir, 'flannel'))).toEqual([]);
  });
});
