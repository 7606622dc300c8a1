// The ipvlan plugin. Its kernel tests need the ipvlan module and skip, naming it, where the kernel
// lacks it; config errors (and the MTU rule, checked against the master before any link is made)
// are refused the same everywhere, leaving nothing.
import { describe, expect, it } from 'vitest';
import { reservations, sandbox } from '../helpers/cli.js';
import { cidrsOf, cni } from '../helpers/fixtures.js';
import { ip, makeNetns } from '../helpers/netns.js';
import { mixedPluginDir } from '../helpers/cli.js';
import { hasLinkKind, hostLocal, linkNames, linkOf, nodeWithMaster } from '../helpers/sublink.js';

const HAVE_IPVLAN = hasLinkKind('ipvlan');

function ipvlanConf(extra: Record<string, unknown> = {}) {
  return { cniVersion: '1.0.0', name: 'ipvnet', type: 'ipvlan', ...extra };
}

describe('ipvlan bad input', () => {
  it('each gets its code and a message naming the problem, and leaves no link and no reservation', async () => {
    const { node, master } = nodeWithMaster({ mtu: 1500 });
    const pod = makeNetns('pod');
    const s = sandbox();
    const ipam = hostLocal('10.78.0.0/24', s.dataDir);
    const twoIfaces = { cniVersion: '1.0.0', interfaces: [{ name: 'a' }, { name: 'b' }], ips: [{ address: '10.78.0.9/24' }] };
    const cases: Array<[Record<string, unknown>, number, RegExp]> = [
      [{ master, ipam, mode: 'l4' }, 7, /^mode: unknown ipvlan mode: "l4"/],
      [{ master, ipam, mtu: 1501 }, 7, /^mtu: invalid MTU 1501, must be \[0, master MTU\(1500\)\]/],
      [{ master }, 7, /^ipam: the interface needs an IPAM plugin \(ipam\.type\) or IP addresses in prevResult/],
      [{ prevResult: twoIfaces }, 7, /^master: chained master failure\. PrevResult lacks a single named interface/],
      [{ master: 'nosuch0', ipam }, 999, /failed to lookup master "nosuch0"/],
    ];
    for (const [extra, code, msg] of cases) {
      const run = await cni('ADD', { node, pod, id: 'ipv-bad', conf: ipvlanConf(extra) });
      const label = JSON.stringify(extra);
      expect(run.json, label).toMatchObject({ code, msg: expect.stringMatching(msg) });
      expect(linkNames(pod), label).toEqual([]);
      expect(reservations(s, 'ipvnet'), label).toEqual([]);
    }
  });

  it.skipIf(HAVE_IPVLAN)('without the ipvlan module: ADD fails with the kernel refusal and leaves nothing; DEL succeeds', async () => {
    const { node, master } = nodeWithMaster();
    const pod = makeNetns('pod');
    const s = sandbox();
    const conf = ipvlanConf({ master, ipam: hostLocal('10.78.0.0/24', s.dataDir) });
    const add = await cni('ADD', { node, pod, id: 'ipv-nomod', conf });
    expect(add.code).not.toBe(0);
    expect(add.json).toMatchObject({ msg: expect.stringContaining('link create') });
    expect(linkNames(pod)).toEqual([]);
    expect(linkNames(node)).toEqual(['mst0', 'mst0p']);
    expect(reservations(s, 'ipvnet')).toEqual([]);
    expect(await cni('DEL', { node, pod, id: 'ipv-nomod', conf })).toMatchObject({ code: 0, stdout: '' });
  });
});

describe.skipIf(!HAVE_IPVLAN)('ipvlan on the kernel (needs the ipvlan module)', () => {
  it('ADD, CHECK, DEL in each mode', async () => {
    for (const mode of ['l2', 'l3', 'l3s']) {
      const { node, master } = nodeWithMaster();
      const pod = makeNetns('pod');
      const s = sandbox();
      const conf = ipvlanConf({ master, mode, ipam: hostLocal('10.78.0.0/24', s.dataDir) });
      const add = await cni('ADD', { node, pod, id: 'ipv', conf });
      expect(add.code, add.stdout).toBe(0);
      expect(add.json).toMatchObject({
        interfaces: [{ name: 'eth0', sandbox: pod.path }],
        ips: [{ address: '10.78.0.2/24', interface: 0 }],
      });
      expect(linkOf(pod, 'eth0')?.linkinfo).toMatchObject({ info_kind: 'ipvlan', info_data: { mode } });
      expect(await cni('CHECK', { node, pod, id: 'ipv', conf: { ...conf, prevResult: add.json } })).toMatchObject({ code: 0 });
      expect((await cni('DEL', { node, pod, id: 'ipv', conf })).code).toBe(0);
      expect(linkNames(pod)).toEqual([]);
      expect(reservations(s, 'ipvnet')).toEqual([]);
    }
  });

  it("chained without IPAM: prevResult's interface is the master and its addresses go on the link", async () => {
    const { node, master } = nodeWithMaster();
    const pod = makeNetns('pod');
    const prevResult = { cniVersion: '1.0.0', interfaces: [{ name: master }], ips: [{ address: '10.78.0.50/24', gateway: '10.78.0.1' }] };
    const conf = ipvlanConf({ prevResult });
    const add = await cni('ADD', { node, pod, id: 'ipv-chain', conf });
    expect(add.code, add.stdout).toBe(0);
    expect(cidrsOf(pod, 'eth0')).toEqual(['10.78.0.50/24']);
    expect((await cni('DEL', { node, pod, id: 'ipv-chain', conf })).code).toBe(0);
  });

  it('same kernel state as the reference binary', async () => {
    const seen: unknown[] = [];
    for (const which of ['ref', 'ours'] as const) {
      const { node, master } = nodeWithMaster();
      const pod = makeNetns('pod');
      const s = sandbox();
      const conf = ipvlanConf({ master, mode: 'l3', ipam: hostLocal('10.78.0.0/24', s.dataDir) });
      const binDir = mixedPluginDir({ ipvlan: which, 'host-local': 'ours' });
      const add = await cni('ADD', { node, pod, id: 'ipv-ref', conf, binDir });
      expect(add.code, add.stdout).toBe(0);
      seen.push({ link: linkOf(pod, 'eth0')?.linkinfo, addrs: cidrsOf(pod, 'eth0'), routes: ip('-n', pod.name, 'route').trim() });
      expect((await cni('DEL', { node, pod, id: 'ipv-ref', conf })).code).toBe(0);
    }
    expect(seen[1]).toEqual(seen[0]);
  });
});
