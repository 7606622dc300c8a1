// The firewall plugin chained after a bridge, as a runtime runs it: pods' forwarded traffic accepted
// (anything from a pod, replies toward it) ahead of a drop policy, the admin chain deciding first,
// the same-bridge and isolated ingress policies, elements gone on DEL while table and chains stay,
// and bad configs refused with nothing left. Traffic is TCP between pod namespaces of the test.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { cnitool, cnitoolSandbox, fastcni, haveCnitool, mixedPluginDir, sandbox, writeBridgeList } from '../helpers/cli.js';
import { cni } from '../helpers/fixtures.js';
import { bridgeNetfilter, connects, firewallTable, serve } from '../helpers/firewall.js';
import { makeNetns, type Netns } from '../helpers/netns.js';

const PORT = 8080;
const hash = (s: string) => createHash('sha256').update(s).digest('hex').slice(0, 16);
const CHAINS = ['CNI-ADMIN', 'admin', 'forward', 'isolation'];

function nft(node: Netns, ...args: string[]): void {
  execFileSync('ip', ['netns', 'exec', node.name, 'nft', ...args]);
}

/** The pod's first address (no prefix) from a result printed as JSON. */
function podIp(stdout: string): string {
  return (JSON.parse(stdout) as { ips: Array<{ address: string }> }).ips[0]!.address.split('/')[0]!;
}

describe('firewall after our bridge, through our runtime', () => {
  it("accepts a pod's connections and their replies ahead of a drop policy, lets the admin chain decide first, and DEL removes its elements", async () => {
    const node = makeNetns('node');
    const s = sandbox();
    writeBridgeList(s, { name: 'fwa', bridge: 'fcfwa0', subnet: '10.91.0.0/24', extraPlugins: [{ type: 'firewall' }] });
    writeBridgeList(s, { name: 'fwb', bridge: 'fcfwb0', subnet: '10.92.0.0/24' }); // no firewall: not ours to accept
    const [a1, b1] = [makeNetns('a1'), makeNetns('b1')];
    const addA = await fastcni(['add', 'fwa', a1.path, '--json'], { node, env: s.env });
    expect(addA.code, addA.stdout + addA.stderr).toBe(0);
    const addB = await fastcni(['add', 'fwb', b1.path, '--json'], { node, env: s.env });
    expect(addB.code, addB.stdout + addB.stderr).toBe(0);
    const [ipA, ipB] = [podIp(addA.stdout), podIp(addB.stdout)];
    const view = firewallTable(node);
    expect(view.chains).toEqual(CHAINS);
    const set = `pods4-${hash('fwa\nCNI-ADMIN')}`;
    expect(view.elements.filter((e) => e.startsWith('pods'))).toEqual([expect.stringMatching(new RegExp(`^${set} "${ipA}" \\S+/eth0$`))]);
    expect((await fastcni(['check', 'fwa', a1.path], { node, env: s.env })).code).toBe(0);

    await serve(a1, PORT);
    await serve(b1, PORT);
    // The node's forward policy is drop, with our rules in the same chain (as iptables' FORWARD
    // with the reference's CNI-FORWARD): a1 is ours, b1 is not.
    nft(node, 'chain', 'inet', 'fastcni-firewall', 'forward', '{ policy drop; }');
    expect(connects(a1, ipB, PORT)).toBe(true); // from the pod, and the replies toward it
    expect(connects(b1, ipA, PORT)).toBe(false); // a new connection toward the pod is not ours to accept
    // the admin chain comes first: its drop wins over our accept
    nft(node, 'add', 'rule', 'inet', 'fastcni-firewall', 'CNI-ADMIN', 'ip', 'daddr', ipB, 'drop');
    expect(connects(a1, ipB, PORT)).toBe(false);
    nft(node, 'flush', 'chain', 'inet', 'fastcni-firewall', 'CNI-ADMIN');
    expect(connects(a1, ipB, PORT)).toBe(true);

    // CHECK notices a missing element; DEL works all the same and removes only the elements
    nft(node, 'flush', 'set', 'inet', 'fastcni-firewall', set);
    const check = await fastcni(['check', 'fwa', a1.path], { node, env: s.env });
    expect(check.code).not.toBe(0);
    expect(check.stdout + check.stderr).toContain(`expected firewall rules for ${ipA} not found`);
    nft(node, 'chain', 'inet', 'fastcni-firewall', 'forward', '{ policy accept; }');
    expect((await fastcni(['del', 'fwa', a1.path], { node, env: s.env })).code).toBe(0);
    expect((await fastcni(['del', 'fwb', b1.path], { node, env: s.env })).code).toBe(0);
    expect(firewallTable(node)).toEqual({ chains: CHAINS, elements: [] });
  });
});

describe('ingress policies, through cnitool', () => {
  it.skipIf(!haveCnitool)('same-bridge drops traffic between policed bridges, isolated also within its bridge', async () => {
    const node = makeNetns('node');
    const s = cnitoolSandbox();
    const fw = (ingressPolicy: string) => [{ type: 'firewall', ingressPolicy }];
    writeBridgeList(s, { name: 'fwa', bridge: 'fcfwa0', subnet: '10.91.0.0/24', extraPlugins: fw('same-bridge') });
    writeBridgeList(s, { name: 'fwb', bridge: 'fcfwb0', subnet: '10.92.0.0/24', extraPlugins: fw('isolated') });
    writeBridgeList(s, { name: 'fwc', bridge: 'fcfwc0', subnet: '10.93.0.0/24', extraPlugins: fw('open') });
    const pods: Record<string, { ns: Netns; ip: string; net: string }> = {};
    for (const [name, net] of [
      ['a1', 'fwa'],
      ['a2', 'fwa'],
      ['b1', 'fwb'],
      ['b2', 'fwb'],
      ['c1', 'fwc'],
    ] as const) {
      const ns = makeNetns(name);
      const add = await cnitool(s, node, ['add', net, ns.path]);
      expect(add.code, add.stdout + add.stderr).toBe(0);
      pods[name] = { ns, ip: podIp(add.stdout), net };
      await serve(ns, PORT);
    }
    const reach = (from: string, to: string) => connects(pods[from]!.ns, pods[to]!.ip, PORT);
    expect(reach('a1', 'a2')).toBe(true); // same bridge, same-bridge policy
    expect(reach('a1', 'b1')).toBe(false); // between two policed bridges
    expect(reach('b1', 'a1')).toBe(false);
    expect(reach('a1', 'c1')).toBe(true); // toward a bridge without a policy
    expect(reach('c1', 'a1')).toBe(true); // from one
    if (bridgeNetfilter()) expect(reach('b1', 'b2')).toBe(false); // within an isolated bridge
    const view = firewallTable(node);
    const pair = (b: string) => `${JSON.stringify([b, b])}`;
    expect(view.elements).toEqual(
      expect.arrayContaining([
        'policy-bridges fcfwa0',
        'policy-bridges fcfwb0',
        `bridge-pairs ${pair('fcfwa0')}`,
        `bridge-pairs ${pair('fcfwb0')}`,
        `isolated-pairs ${pair('fcfwb0')}`,
      ]),
    );
    expect(view.elements.filter((e) => e.includes('fcfwc0'))).toEqual([]);
    for (const p of Object.values(pods)) expect((await cnitool(s, node, ['check', p.net, p.ns.path])).code).toBe(0);
    for (const p of Object.values(pods)) expect((await cnitool(s, node, ['del', p.net, p.ns.path])).code).toBe(0);
    // the pods' elements are gone; the bridges' policies stay, as the reference's isolation rules do
    expect(firewallTable(node).elements.filter((e) => e.startsWith('pods'))).toEqual([]);
    expect(firewallTable(node).chains).toEqual(CHAINS);
  });
});

describe('after the reference bridge and host-local', () => {
  it.skipIf(!haveCnitool)('cniVersion 1.0.0 through cnitool: ADD, CHECK, DEL', async () => {
    const node = makeNetns('node');
    const pod = makeNetns('pod');
    const s = cnitoolSandbox();
    writeBridgeList(s, {
      name: 'fwref',
      bridge: 'fcfwr0',
      subnet: '10.94.0.0/24',
      cniVersion: '1.0.0',
      extraPlugins: [{ type: 'firewall', ingressPolicy: 'isolated' }],
    });
    const cniPath = mixedPluginDir({ bridge: 'ref', 'host-local': 'ref', firewall: 'ours' });
    const add = await cnitool(s, node, ['add', 'fwref', pod.path], { cniPath });
    expect(add.code, add.stdout + add.stderr).toBe(0);
    const ip = podIp(add.stdout);
    expect(firewallTable(node).elements).toEqual(
      expect.arrayContaining([expect.stringMatching(new RegExp(`^pods4-${hash('fwref\nCNI-ADMIN')} "${ip}" `)), 'policy-bridges fcfwr0']),
    );
    expect((await cnitool(s, node, ['check', 'fwref', pod.path], { cniPath })).code).toBe(0);
    expect((await cnitool(s, node, ['del', 'fwref', pod.path], { cniPath })).code).toBe(0);
    expect(firewallTable(node).elements.filter((e) => e.startsWith('pods'))).toEqual([]);
  });
});

describe('bad input', () => {
  const prevResult = {
    cniVersion: '1.0.0',
    interfaces: [{ name: 'fcfwx0' }],
    ips: [{ address: '10.95.0.5/24' }],
  };
  const conf = (extra: Record<string, unknown>) => ({ cniVersion: '1.0.0', name: 'fwbad', type: 'firewall', prevResult, ...extra });

  it.each([
    [{ ingressPolicy: 'strict' }, 7, /^ingressPolicy: /],
    [{ backend: 'nftables' }, 7, /^backend: /],
    [{ iptablesAdminChainName: 'forward' }, 7, /^iptablesAdminChainName: /],
    [{ iptablesAdminChainName: 'x'.repeat(256) }, 7, /^iptablesAdminChainName: /],
    [{ prevResult: undefined }, 999, /^missing prevResult from earlier plugin$/],
    [{ prevResult: { ...prevResult, interfaces: [] }, ingressPolicy: 'same-bridge' }, 999, /^interface needs to be set/],
    [{ cniVersion: '0.3.1', prevResult: { ...prevResult, cniVersion: '0.3.1' } }, 1, /incompatible CNI versions/],
  ])('%j: code %i naming the field, nothing left', async (extra, code, msg) => {
    const node = makeNetns('node');
    const pod = makeNetns('pod');
    const run = await cni('ADD', { node, pod, id: 'ctr-bad', conf: conf(extra) });
    expect(run.code).not.toBe(0);
    const err = JSON.parse(run.stdout) as { code: number; msg: string };
    expect(err.code).toBe(code);
    expect(err.msg).toMatch(msg);
    expect(run.stderr).not.toMatch(/\n\s+at /); // no stack trace
    expect(firewallTable(node)).toEqual({ chains: [], elements: [] });
  });

  it('DEL without prevResult, and of an attachment never added, succeeds', async () => {
    const node = makeNetns('node');
    const pod = makeNetns('pod');
    const { prevResult: _p, ...noPrev } = conf({});
    expect(await cni('DEL', { node, pod, id: 'ctr-none', conf: noPrev })).toMatchObject({ code: 0, stdout: '' });
    const add = await cni('ADD', { node, pod, id: 'ctr-1', conf: conf({}) });
    expect(add.code, add.stdout).toBe(0);
    expect(JSON.parse(add.stdout)).toEqual(prevResult); // the result is prevResult
    expect(firewallTable(node).elements).toEqual([`pods4-${hash('fwbad\nCNI-ADMIN')} "10.95.0.5" ctr-1/eth0`]);
    expect(await cni('DEL', { node, pod, id: 'ctr-1', conf: noPrev })).toMatchObject({ code: 0, stdout: '' });
    expect(firewallTable(node).elements).toEqual([]);
  });

  it('GC removes the elements of attachments that are not valid any more, of its network only', async () => {
    const node = makeNetns('node');
    const pod = makeNetns('pod');
    const add = async (id: string, name: string, address: string) => {
      const c = { ...conf({}), name, prevResult: { ...prevResult, ips: [{ address }] } };
      expect((await cni('ADD', { node, pod, id, conf: c })).code).toBe(0);
    };
    await add('ctr-1', 'fwgc', '10.95.0.5/24');
    await add('ctr-2', 'fwgc', '10.95.0.6/24');
    await add('ctr-3', 'fwother', '10.95.1.7/24');
    const gcConf = {
      cniVersion: '1.1.0',
      name: 'fwgc',
      type: 'firewall',
      'cni.dev/valid-attachments': [{ containerID: 'ctr-2', ifname: 'eth0' }],
    };
    const gc = await cni('GC', { node, id: '', conf: gcConf });
    expect(gc, gc.stdout).toMatchObject({ code: 0, stdout: '' });
    expect(firewallTable(node).elements).toEqual(
      [`pods4-${hash('fwgc\nCNI-ADMIN')} "10.95.0.6" ctr-2/eth0`, `pods4-${hash('fwother\nCNI-ADMIN')} "10.95.1.7" ctr-3/eth0`].sort(),
    );
  });
});
