// portmap's conditionsV4 (nftables form), per network: a network with conditions gets its own maps
// and DNAT rules with the conditions in front; real traffic from two clients shows the condition
// applied, a network without conditions is unaffected, and the network's maps and rules go with its
// last element on DEL and on GC (read back with nft -j).
import { describe, expect, it } from 'vitest';
import { cni, nodeAndPod } from '../helpers/fixtures.js';
import type { Netns } from '../helpers/netns.js';
import { ruleset } from '../helpers/nft.js';
import { portmapElements, serve, talk, wireToNode, type Wired } from '../helpers/portmap.js';

/** A portmap config of `network` for a pod wired to the node, mapping hostPort to its port 80. */
function conf(network: string, pod: Wired, hostPort: number, extra: Record<string, unknown> = {}) {
  return {
    cniVersion: '1.1.0',
    name: network,
    type: 'portmap',
    runtimeConfig: { portMappings: [{ hostPort, containerPort: 80, protocol: 'tcp' }] },
    prevResult: {
      cniVersion: '1.1.0',
      interfaces: [{ name: 'eth0', sandbox: pod.ns.path }],
      ips: [{ address: `${pod.v4}/24`, interface: 0 }],
    },
    ...extra,
  };
}

/** Our portmap maps ("<family> <name> <comment>") and DNAT rules ("<family> <chain> <map> <comment>"), sorted. */
function portmapObjects(node: Netns): { maps: string[]; rules: string[] } {
  const maps: string[] = [];
  const rules: string[] = [];
  for (const item of ruleset(node)) {
    const m = item.map as { family: string; table: string; name: string; comment?: string } | undefined;
    if (m?.table === 'fastcni-portmap') maps.push(`${m.family} ${m.name} ${m.comment ?? '-'}`);
    const r = item.rule as { family: string; table: string; chain: string; comment?: string; expr: unknown[] } | undefined;
    if (r?.table !== 'fastcni-portmap' || r.chain === 'postrouting') continue;
    const map = JSON.stringify(r.expr).match(/"map":"@([^"]+)"/)?.[1] ?? JSON.stringify(r.expr).match(/"@([^"]+)"/)?.[1];
    rules.push(`${r.family} ${r.chain} ${map} ${r.comment ?? '-'}`);
  }
  return { maps: maps.sort(), rules: rules.sort() };
}

const SHARED = {
  maps: ['ip hostip-hostports -', 'ip hostports -'],
  rules: ['ip output hostip-hostports -', 'ip output hostports -', 'ip prerouting hostip-hostports -', 'ip prerouting hostports -'],
};

describe('portmap conditionsV4, per network', () => {
  it('redirects only traffic the conditions match, for that network only; its maps and rules go with its last pod', async () => {
    const { node } = nodeAndPod();
    const pod = wireToNode(node, 'pod', 211);
    const a = wireToNode(node, 'cla', 212);
    const b = wireToNode(node, 'clb', 213);
    await serve(pod.ns, 'tcp', 80, 'pod');
    const cond = conf('cond-net', pod, 8080, { conditionsV4: [`ip saddr != ${a.v4}`] });
    const plain = conf('plain-net', pod, 8081);
    expect((await cni('ADD', { node, pod: pod.ns, id: 'c1', conf: cond })).code).toBe(0);
    expect((await cni('ADD', { node, pod: pod.ns, id: 'c2', conf: plain })).code).toBe(0);

    // from A the condition does not match: not redirected (nothing listens on the node itself)
    expect(await talk(a.ns, 'tcp', a.nodeV4, 8080)).not.toMatch(/^pod/);
    expect(await talk(b.ns, 'tcp', b.nodeV4, 8080)).toBe(`pod ${b.v4}`);
    // the network without conditions maps for everyone
    expect(await talk(a.ns, 'tcp', a.nodeV4, 8081)).toBe(`pod ${a.v4}`);

    const objs = portmapObjects(node);
    const own = objs.maps.find((m) => m.startsWith('ip hostports-'))!.split(' ')[1]!;
    expect(own).toMatch(/^hostports-[0-9a-f]{16}$/);
    const tag = `ip saddr != ${a.v4}`;
    expect(objs.maps).toEqual([...SHARED.maps, `ip hostip-${own} cond-net`, `ip ${own} cond-net`].sort());
    expect(objs.rules).toEqual(
      [
        ...SHARED.rules,
        `ip output hostip-${own} ${tag}`,
        `ip output ${own} ${tag}`,
        `ip prerouting hostip-${own} ${tag}`,
        `ip prerouting ${own} ${tag}`,
      ].sort(),
    );
    // one host port across every map of the family: the other network cannot take 8080
    const clash = await cni('ADD', { node, pod: pod.ns, id: 'c3', conf: conf('plain-net', pod, 8080) });
    expect(clash.json).toMatchObject({ code: 7, msg: expect.stringMatching(/tcp\/8080 is already mapped .*c1\/eth0 of network cond-net/) });

    // DEL of the network's last pod, without mappings or prevResult: its maps and rules go
    const del = await cni('DEL', { node, pod: pod.ns, id: 'c1', conf: { ...cond, runtimeConfig: {}, prevResult: undefined } });
    expect(del.code, del.stdout).toBe(0);
    expect(portmapObjects(node)).toEqual(SHARED);
    expect(portmapElements(node).filter((e) => e.includes(' hostports '))).toHaveLength(1);
    expect(await talk(b.ns, 'tcp', b.nodeV4, 8081)).toBe(`pod ${b.v4}`);

    // GC likewise
    expect((await cni('ADD', { node, pod: pod.ns, id: 'c4', conf: cond })).code).toBe(0);
    expect(portmapObjects(node).maps).toHaveLength(4);
    const gc = await cni('GC', {
      node,
      id: '',
      conf: { cniVersion: '1.1.0', name: 'cond-net', type: 'portmap', 'cni.dev/valid-attachments': [] },
    });
    expect(gc.code, gc.stdout).toBe(0);
    expect(portmapObjects(node)).toEqual(SHARED);
    expect(await talk(a.ns, 'tcp', a.nodeV4, 8081)).toBe(`pod ${a.v4}`);
  });

  it('bad conditions: code 7 naming the field and the token, nothing left behind', async () => {
    const { node } = nodeAndPod();
    const pod = wireToNode(node, 'pod', 214);
    for (const [conditionsV4, msg] of [
      [['tcp dport 80'], /^conditionsV4: unsupported selector "tcp"/],
      [['ip saddr fd00::1'], /^conditionsV4: "fd00::1" after "ip saddr" is not an IPv4 address/],
      [['ip saddr !='], /^conditionsV4: missing value after "ip saddr"/],
    ] as const) {
      const res = await cni('ADD', { node, pod: pod.ns, id: 'bad', conf: conf('bad-net', pod, 8090, { conditionsV4 }) });
      expect(res.code).not.toBe(0);
      expect(res.json).toMatchObject({ code: 7, msg: expect.stringMatching(msg) });
      expect(portmapObjects(node)).toEqual({ maps: [], rules: [] });
      expect(portmapElements(node)).toEqual([]);
    }
  });
});
