// The ipvlan and vlan plugins. Their kernel tests need the ipvlan and 8021q modules and skip, naming
// them, where the kernel lacks them; config errors (and the MTU rule, checked against the master
// before any link is made) are refused the same everywhere, leaving nothing.
import { describe, expect, it } from 'vitest';
import { mixedPluginDir, reservations, sandbox } from '../helpers/cli.js';
import { cidrsOf, cni } from '../helpers/fixtures.js';
import { ip, makeNetns } from '../helpers/netns.js';
import {
  expectModuleMissing,
  expectRefused,
  hasLinkKind,
  hostLocal,
  linkNames,
  linkOf,
  nodeWithMaster,
  type RefusedCase,
} from '../helpers/sublink.js';

interface Kind {
  type: 'ipvlan' | 'vlan';
  module: string;
  have: boolean;
  net: string;
  /** the kind's own fields of a valid config, and what `ip -d link` then shows */
  extra: Record<string, unknown>;
  linkinfo: Record<string, unknown>;
  /** bad configs besides the shared ones (given a master and an IPAM block) */
  bad: (o: { master: string; ipam: Record<string, unknown> }) => RefusedCase[];
}

const KINDS: Kind[] = [
  {
    type: 'ipvlan',
    module: 'ipvlan',
    have: hasLinkKind('ipvlan'),
    net: 'ipvnet',
    extra: { mode: 'l3' },
    linkinfo: { info_kind: 'ipvlan', info_data: { mode: 'l3' } },
    bad: ({ master, ipam }) => [
      [{ master, ipam, mode: 'l4' }, 7, /^mode: unknown ipvlan mode: "l4"/],
      [{ master }, 7, /^ipam: the interface needs an IPAM plugin \(ipam\.type\) or IP addresses in prevResult/],
      [
        { prevResult: { cniVersion: '1.0.0', interfaces: [{ name: 'a' }, { name: 'b' }], ips: [{ address: '10.78.0.9/24' }] } },
        7,
        /^master: chained master failure\. PrevResult lacks a single named interface/,
      ],
    ],
  },
  {
    type: 'vlan',
    module: '8021q',
    have: hasLinkKind('vlan'),
    net: 'vlnet',
    extra: { vlanId: 42 },
    linkinfo: { info_kind: 'vlan', info_data: { id: 42 } },
    bad: ({ master, ipam }) => [
      [{ ipam, vlanId: 5 }, 7, /^master: "master" field is required/],
      [{ master: '', ipam, vlanId: 5 }, 7, /^master: "master" field is required/],
      [{ master, ipam, vlanId: 4095 }, 7, /^vlanId: invalid VLAN ID \(must be between 0 and 4094\)/],
      [{ master, ipam, vlanId: -1 }, 7, /^vlanId: /],
      [{ master, vlanId: 5 }, 7, /^ipam: the interface needs an IPAM plugin \(ipam\.type\)/],
    ],
  },
];

const confOf = (k: Kind) => (extra: Record<string, unknown>) => ({ cniVersion: '1.0.0', name: k.net, type: k.type, ...extra });

describe.each(KINDS)('$type bad input', (k) => {
  it('each gets its code and a message naming the problem, and leaves no link and no reservation', async () => {
    const { node, master } = nodeWithMaster({ mtu: 1500 });
    const pod = makeNetns('pod');
    const box = sandbox();
    const ipam = hostLocal('10.78.0.0/24', box.dataDir);
    const cases: RefusedCase[] = [
      ...k.bad({ master, ipam }),
      [{ master, ipam, ...k.extra, mtu: 1501 }, 7, /^mtu: invalid MTU 1501, must be \[0, master MTU\(1500\)\]/],
      [{ master: 'nosuch0', ipam, ...k.extra }, 999, /failed to lookup master "nosuch0"/],
    ];
    await expectRefused({ node, pod, box, net: k.net, conf: confOf(k), cases });
  });

  it.skipIf(k.have)(`without the ${k.module} module: ADD fails with the kernel refusal and leaves nothing; DEL succeeds`, async () => {
    await expectModuleMissing({ net: k.net, type: k.type, extra: k.extra });
  });
});

describe.each(KINDS)('$type on the kernel', (k) => {
  it.skipIf(!k.have)(`ADD, CHECK, DEL (needs the ${k.module} module)`, async () => {
    const { node, master } = nodeWithMaster();
    const pod = makeNetns('pod');
    const box = sandbox();
    const conf = confOf(k)({ master, ...k.extra, mtu: 1400, ipam: hostLocal('10.78.0.0/24', box.dataDir) });
    const add = await cni('ADD', { node, pod, id: 'k', conf });
    expect(add.code, add.stdout).toBe(0);
    expect(add.json).toMatchObject({ interfaces: [{ name: 'eth0', sandbox: pod.path }], ips: [{ address: '10.78.0.2/24', interface: 0 }] });
    expect(linkOf(pod, 'eth0')).toMatchObject({ mtu: 1400, linkinfo: k.linkinfo });
    expect(await cni('CHECK', { node, pod, id: 'k', conf: { ...conf, prevResult: add.json } })).toMatchObject({ code: 0 });
    expect((await cni('DEL', { node, pod, id: 'k', conf })).code).toBe(0);
    expect(linkNames(pod)).toEqual([]);
    expect(reservations(box, k.net)).toEqual([]);
  });

  it.skipIf(!k.have)(`same kernel state as the reference binary (needs the ${k.module} module)`, async () => {
    const seen: unknown[] = [];
    for (const which of ['ref', 'ours'] as const) {
      const { node, master } = nodeWithMaster();
      const pod = makeNetns('pod');
      const box = sandbox();
      const conf = confOf(k)({ master, ...k.extra, ipam: hostLocal('10.78.0.0/24', box.dataDir) });
      const binDir = mixedPluginDir({ [k.type]: which, 'host-local': 'ours' });
      const add = await cni('ADD', { node, pod, id: 'k-ref', conf, binDir });
      expect(add.code, add.stdout).toBe(0);
      seen.push({ link: linkOf(pod, 'eth0')?.linkinfo, addrs: cidrsOf(pod, 'eth0'), routes: ip('-n', pod.name, 'route').trim() });
      expect((await cni('DEL', { node, pod, id: 'k-ref', conf })).code).toBe(0);
    }
    expect(seen[1]).toEqual(seen[0]);
  });
});

describe.skipIf(!hasLinkKind('ipvlan'))('ipvlan chained (needs the ipvlan module)', () => {
  it("without IPAM: prevResult's interface is the master and its addresses go on the link", async () => {
    const { node, master } = nodeWithMaster();
    const pod = makeNetns('pod');
    const prevResult = { cniVersion: '1.0.0', interfaces: [{ name: master }], ips: [{ address: '10.78.0.50/24', gateway: '10.78.0.1' }] };
    const conf = { cniVersion: '1.0.0', name: 'ipvnet', type: 'ipvlan', prevResult };
    const add = await cni('ADD', { node, pod, id: 'ipv-chain', conf });
    expect(add.code, add.stdout).toBe(0);
    expect(cidrsOf(pod, 'eth0')).toEqual(['10.78.0.50/24']);
    expect((await cni('DEL', { node, pod, id: 'ipv-chain', conf })).code).toBe(0);
  });
});
