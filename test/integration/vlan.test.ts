// The vlan plugin. Its kernel tests need the 8021q module and skip, naming it, where the kernel
// lacks it; config errors (and the MTU rule, checked against the master before any link is made)
// are refused the same everywhere, leaving nothing.
import { describe, expect, it } from 'vitest';
import { mixedPluginDir, reservations, sandbox } from '../helpers/cli.js';
import { cidrsOf, cni } from '../helpers/fixtures.js';
import { ip, makeNetns } from '../helpers/netns.js';
import { hasLinkKind, hostLocal, linkNames, linkOf, nodeWithMaster } from '../helpers/sublink.js';

const HAVE_8021Q = hasLinkKind('vlan');

function vlanConf(extra: Record<string, unknown> = {}) {
  return { cniVersion: '1.0.0', name: 'vlnet', type: 'vlan', ...extra };
}

describe('vlan bad input', () => {
  it('each gets its code and a message naming the problem, and leaves no link and no reservation', async () => {
    const { node, master } = nodeWithMaster({ mtu: 1500 });
    const pod = makeNetns('pod');
    const s = sandbox();
    const ipam = hostLocal('10.79.0.0/24', s.dataDir);
    const cases: Array<[Record<string, unknown>, number, RegExp]> = [
      [{ ipam, vlanId: 5 }, 7, /^master: "master" field is required/],
      [{ master: '', ipam, vlanId: 5 }, 7, /^master: "master" field is required/],
      [{ master, ipam, vlanId: 4095 }, 7, /^vlanId: invalid VLAN ID \(must be between 0 and 4094\)/],
      [{ master, ipam, vlanId: -1 }, 7, /^vlanId: /],
      [{ master, ipam, vlanId: 5, mtu: 1501 }, 7, /^mtu: invalid MTU 1501, must be \[0, master MTU\(1500\)\]/],
      [{ master, vlanId: 5 }, 7, /^ipam: the interface needs an IPAM plugin \(ipam\.type\)/],
      [{ master: 'nosuch0', ipam, vlanId: 5 }, 999, /failed to lookup master "nosuch0"/],
    ];
    for (const [extra, code, msg] of cases) {
      const run = await cni('ADD', { node, pod, id: 'vl-bad', conf: vlanConf(extra) });
      const label = JSON.stringify(extra);
      expect(run.json, label).toMatchObject({ code, msg: expect.stringMatching(msg) });
      expect(linkNames(pod), label).toEqual([]);
      expect(reservations(s, 'vlnet'), label).toEqual([]);
    }
  });

  it.skipIf(HAVE_8021Q)('without the 8021q module: ADD fails with the kernel refusal and leaves nothing; DEL succeeds', async () => {
    const { node, master } = nodeWithMaster();
    const pod = makeNetns('pod');
    const s = sandbox();
    const conf = vlanConf({ master, vlanId: 7, ipam: hostLocal('10.79.0.0/24', s.dataDir) });
    const add = await cni('ADD', { node, pod, id: 'vl-nomod', conf });
    expect(add.code).not.toBe(0);
    expect(add.json).toMatchObject({ msg: expect.stringContaining('link create') });
    expect(linkNames(pod)).toEqual([]);
    expect(linkNames(node)).toEqual(['mst0', 'mst0p']);
    expect(reservations(s, 'vlnet')).toEqual([]);
    expect(await cni('DEL', { node, pod, id: 'vl-nomod', conf })).toMatchObject({ code: 0, stdout: '' });
  });
});

describe.skipIf(!HAVE_8021Q)('vlan on the kernel (needs the 8021q module)', () => {
  it('ADD, CHECK, DEL: an 802.1Q link with its id and MTU', async () => {
    const { node, master } = nodeWithMaster();
    const pod = makeNetns('pod');
    const s = sandbox();
    const conf = vlanConf({ master, vlanId: 42, mtu: 1400, ipam: hostLocal('10.79.0.0/24', s.dataDir) });
    const add = await cni('ADD', { node, pod, id: 'vl', conf });
    expect(add.code, add.stdout).toBe(0);
    expect(add.json).toMatchObject({ interfaces: [{ name: 'eth0', sandbox: pod.path }], ips: [{ address: '10.79.0.2/24', interface: 0 }] });
    expect(linkOf(pod, 'eth0')).toMatchObject({ mtu: 1400, linkinfo: { info_kind: 'vlan', info_data: { id: 42 } } });
    expect(await cni('CHECK', { node, pod, id: 'vl', conf: { ...conf, prevResult: add.json } })).toMatchObject({ code: 0 });
    const other = await cni('CHECK', { node, pod, id: 'vl', conf: { ...conf, vlanId: 43, prevResult: add.json } });
    expect(other.json).toMatchObject({ msg: 'Container vlan id of eth0 is 42, configured: 43' });
    expect((await cni('DEL', { node, pod, id: 'vl', conf })).code).toBe(0);
    expect(linkNames(pod)).toEqual([]);
    expect(reservations(s, 'vlnet')).toEqual([]);
  });

  it('same kernel state as the reference binary', async () => {
    const seen: unknown[] = [];
    for (const which of ['ref', 'ours'] as const) {
      const { node, master } = nodeWithMaster();
      const pod = makeNetns('pod');
      const s = sandbox();
      const conf = vlanConf({ master, vlanId: 42, ipam: hostLocal('10.79.0.0/24', s.dataDir) });
      const binDir = mixedPluginDir({ vlan: which, 'host-local': 'ours' });
      const add = await cni('ADD', { node, pod, id: 'vl-ref', conf, binDir });
      expect(add.code, add.stdout).toBe(0);
      seen.push({ link: linkOf(pod, 'eth0')?.linkinfo, addrs: cidrsOf(pod, 'eth0'), routes: ip('-n', pod.name, 'route').trim() });
      expect((await cni('DEL', { node, pod, id: 'vl-ref', conf })).code).toBe(0);
    }
    expect(seen[1]).toEqual(seen[0]);
  });
});
