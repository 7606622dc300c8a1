// The vrf plugin chained after our bridge: where the kernel has the vrf driver (this test machine's
// does not: those tests skip, naming the module) the interface moves into the VRF with its routes,
// CHECK and DEL, and the reference vrf leaves the same kernel state; on any kernel a missing driver,
// bad input and DEL of what is gone.
import { describe, expect, it } from 'vitest';
import { bridgeConf, cni, nodeAndPod, tempDir } from '../helpers/fixtures.js';
import { ipJson, removeNetns, type Netns } from '../helpers/netns.js';
import { kernelHasLinkKind } from '../helpers/link-kinds.js';
import { REF_BIN } from '../helpers/run-plugin.js';
import { routingState, tableRoutes } from '../helpers/sbr.js';

const hasVrf = kernelHasLinkKind('vrf', 'table', '10');

/** Our bridge on a pod, called directly: the prevResult vrf chains after. */
async function bridged(node: Netns, pod: Netns, id = 'ctr-vrf') {
  const add = await cni('ADD', { node, pod, id, conf: bridgeConf({ dataDir: tempDir('ipam') }) });
  expect(add.code, add.stdout).toBe(0);
  return add.json as Record<string, unknown>;
}

function vrfConf(prevResult: unknown, extra: Record<string, unknown> = {}) {
  return { cniVersion: '1.0.0', name: 'testnet', type: 'vrf', vrfname: 'blue', prevResult, ...extra };
}

interface LinkJson {
  ifname: string;
  master?: string;
  linkinfo?: { info_kind?: string; info_data?: { table?: number } };
}
const link = (pod: Netns, name: string) => ipJson<LinkJson[]>('-n', pod.name, '-d', 'link').find((l) => l.ifname === name);

describe('vrf', () => {
  it.skipIf(!hasVrf)(
    'ADD moves eth0 into a new VRF (table 1) with its routes, CHECK passes, DEL releases it and deletes the VRF (needs module vrf)',
    async () => {
      const { node, pod } = nodeAndPod();
      const prev = await bridged(node, pod);
      const conf = vrfConf(prev);
      const add = await cni('ADD', { node, pod, id: 'ctr-vrf', conf });
      expect(add.code, add.stdout).toBe(0);
      expect(add.json).toEqual(prev);
      expect(link(pod, 'blue')?.linkinfo).toMatchObject({ info_kind: 'vrf', info_data: { table: 1 } });
      expect(link(pod, 'eth0')?.master).toBe('blue');
      expect(tableRoutes(pod, 1, 'eth0')).toContain('default via 10.99.0.1 dev eth0');
      expect(await cni('CHECK', { node, pod, id: 'ctr-vrf', conf })).toMatchObject({ code: 0, stdout: '' });
      const other = await cni('ADD', { node, pod, id: 'ctr-vrf', conf: vrfConf(prev, { table: 7 }) });
      expect(other.json).toMatchObject({ code: 7, msg: 'VRF blue already exist with different routing table 1' });
      expect(await cni('DEL', { node, pod, id: 'ctr-vrf', conf })).toMatchObject({ code: 0, stdout: '' });
      expect(link(pod, 'eth0')?.master).toBeUndefined();
      expect(link(pod, 'blue')).toBeUndefined();
    },
  );

  it.skipIf(!hasVrf)('the reference vrf leaves the same kernel state, and ours DELs what it ADDed (needs module vrf)', async () => {
    const states: unknown[] = [];
    for (const bin of [REF_BIN, undefined]) {
      const { node, pod } = nodeAndPod();
      const prev = await bridged(node, pod);
      const conf = vrfConf(prev, { table: 100 });
      const add = await cni('ADD', { node, pod, id: 'ctr-vrf', conf, binDir: bin });
      expect(add.code, add.stdout).toBe(0);
      states.push({ link: link(pod, 'eth0')?.master, routes: tableRoutes(pod, 100) });
      expect(await cni('DEL', { node, pod, id: 'ctr-vrf', conf })).toMatchObject({ code: 0, stdout: '' });
      expect(link(pod, 'blue')).toBeUndefined();
    }
    expect(states[1]).toMatchObject({ link: 'blue' });
    expect((states[1] as { routes: string[] }).routes).toEqual(expect.arrayContaining((states[0] as { routes: string[] }).routes));
  });

  it.runIf(!hasVrf)('without the vrf driver: ADD fails naming the module and leaves the interface and routing as they were', async () => {
    const { node, pod } = nodeAndPod();
    const prev = await bridged(node, pod);
    const before = routingState(pod);
    const run = await cni('ADD', { node, pod, id: 'ctr-vrf', conf: vrfConf(prev) });
    expect(run.code).toBe(1);
    expect(run.json).toMatchObject({
      code: 999,
      msg: expect.stringContaining('could not add VRF blue: the kernel has no vrf driver (module vrf)'),
    });
    expect(link(pod, 'eth0')?.master).toBeUndefined();
    expect(routingState(pod)).toEqual(before);
  });

  it('bad input: its code and a message naming the problem, nothing changed', async () => {
    const { node, pod } = nodeAndPod();
    const prev = await bridged(node, pod);
    const before = routingState(pod);
    const cases: Array<[Record<string, unknown>, number, RegExp]> = [
      [{ vrfname: undefined }, 7, /^vrfname: /],
      [{ vrfname: '' }, 7, /^vrfname: configuration is expected to have a valid vrf name/],
      [{ vrfname: 'a-very-long-vrf-name' }, 7, /^vrfname: an interface name is at most 15 bytes/],
      [{ table: -1 }, 7, /^table: /],
      [{ table: 4294967296 }, 7, /^table: routing tables go up to 4294967295/],
      [{ prevResult: undefined }, 7, /^missing prevResult from earlier plugin/],
      [{ cniVersion: '0.3.0', prevResult: undefined }, 1, /^incompatible CNI versions/],
      [{ vrfname: 'eth0' }, 7, /Netlink eth0 is not a VRF/],
    ];
    for (const [extra, code, msg] of cases) {
      const run = await cni('ADD', { node, pod, id: 'ctr-vrf', conf: vrfConf(prev, extra) });
      const label = JSON.stringify(extra);
      expect(run.code, label).toBe(1);
      expect(run.json, label).toMatchObject({ code, msg: expect.stringMatching(msg) });
      expect(routingState(pod), label).toEqual(before);
    }
  });

  it('DEL of a VRF that is not there, without CNI_NETNS and after the namespace is gone: success', async () => {
    const { node, pod } = nodeAndPod();
    const prev = await bridged(node, pod);
    const conf = vrfConf(prev);
    expect(await cni('DEL', { node, pod, id: 'ctr-vrf', conf })).toMatchObject({ code: 0, stdout: '' });
    expect(await cni('DEL', { node, id: 'ctr-vrf', conf })).toMatchObject({ code: 0, stdout: '' });
    removeNetns(pod.name);
    expect(await cni('DEL', { node, pod, id: 'ctr-vrf', conf })).toMatchObject({ code: 0, stdout: '' });
  });
});
