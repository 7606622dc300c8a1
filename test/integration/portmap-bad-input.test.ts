// portmap's refusals, through the binary a runtime execs: each bad field gives its CNI code and a
// message naming it, a non-zero exit, and leaves the node as it was (the maps' elements, and the
// UDP conntrack entries an ADD of that port would flush). A host port another attachment holds is
// refused whole.
import { describe, expect, it } from 'vitest';
import { cni, nodeAndPod } from '../helpers/fixtures.js';
import { inNs, type Netns } from '../helpers/netns.js';
import { portmapElements, portmapTables, talk, wireToNode } from '../helpers/portmap.js';

const prevResult = (pod: Netns, address = '10.98.0.5/24') => ({
  cniVersion: '1.0.0',
  interfaces: [{ name: 'eth0', mac: '0a:58:0a:62:00:05', sandbox: pod.path }],
  ips: [{ address, gateway: '10.98.0.1', interface: 0 }],
});

function conf(pod: Netns, o: { mappings?: unknown[]; extra?: Record<string, unknown>; prev?: unknown } = {}) {
  return {
    cniVersion: '1.0.0',
    name: 'pmnet',
    type: 'portmap',
    runtimeConfig: { portMappings: o.mappings ?? [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }] },
    prevResult: o.prev === undefined ? prevResult(pod) : o.prev,
    ...o.extra,
  };
}

interface ErrJson {
  code: number;
  msg: string;
}

function conntrackCount(node: Netns): number {
  return Number(inNs(node.name, 'cat', '/proc/sys/net/netfilter/nf_conntrack_count').trim());
}

const udp = (hostPort: number) => ({ hostPort, containerPort: 53, protocol: 'udp' });

const CASES: Array<[string, (pod: Netns) => unknown, number, RegExp]> = [
  [
    'host port 0',
    (p) => conf(p, { mappings: [udp(5300), { hostPort: 0, containerPort: 80 }] }),
    7,
    /^runtimeConfig\.portMappings\[1\]\.hostPort: invalid host port number 0/,
  ],
  [
    'host port > 65535',
    (p) => conf(p, { mappings: [udp(5300), { hostPort: 65536, containerPort: 80 }] }),
    7,
    /portMappings\[1\]\.hostPort: .*65536/,
  ],
  [
    'container port 0',
    (p) => conf(p, { mappings: [udp(5300), { hostPort: 80, containerPort: 0 }] }),
    7,
    /portMappings\[1\]\.containerPort: /,
  ],
  [
    'unknown protocol',
    (p) => conf(p, { mappings: [udp(5300), { hostPort: 80, containerPort: 80, protocol: 'icmp' }] }),
    7,
    /portMappings\[1\]\.protocol: unknown protocol "icmp"/,
  ],
  ['a bad hostIP', (p) => conf(p, { mappings: [{ ...udp(5300), hostIP: '10.0.0.300' }] }), 7, /portMappings\[0\]\.hostIP: invalid IP/],
  [
    'one host port twice',
    (p) => conf(p, { mappings: [udp(5300), { ...udp(5300), containerPort: 54 }] }),
    7,
    /portMappings\[1\]\.hostPort: host port udp\/5300 is mapped twice/,
  ],
  [
    'markMasqBit',
    (p) => conf(p, { mappings: [udp(5300)], extra: { markMasqBit: 13 } }),
    2,
    /^unsupported field markMasqBit: 13 \(iptables backend only/,
  ],
  [
    'externalSetMarkChain',
    (p) => conf(p, { mappings: [udp(5300)], extra: { externalSetMarkChain: 'KUBE-MARK-MASQ' } }),
    2,
    /^unsupported field externalSetMarkChain/,
  ],
  [
    'backend iptables',
    (p) => conf(p, { mappings: [udp(5300)], extra: { backend: 'iptables' } }),
    2,
    /^unsupported field backend: "iptables"/,
  ],
  [
    'iptables conditions',
    (p) => conf(p, { mappings: [udp(5300)], extra: { conditionsV4: ['-s', '10.0.0.0/8'] } }),
    2,
    /^unsupported field conditionsV4/,
  ],
  [
    'nftables conditions outside the grammar',
    (p) => conf(p, { mappings: [udp(5300)], extra: { conditionsV6: ['ip6 saddr fd00::/8 ip saddr 10.0.0.1'] } }),
    7,
    /^conditionsV6: unsupported selector "ip saddr" \(it belongs in conditionsV4\)/,
  ],
  ['no prevResult', (p) => conf(p, { mappings: [udp(5300)], prev: null }), 7, /^must be called as chained plugin$/],
];

describe('portmap bad input', () => {
  it('each bad field: its code, a message naming it, and nothing touched', async () => {
    const { node, pod } = nodeAndPod();
    // another attachment's mapping: the tables exist and its elements must stay as they are
    const ok = await cni('ADD', { node, pod, id: 'ok', conf: conf(pod) });
    expect(ok.code, ok.stdout).toBe(0);
    const before = portmapElements(node);
    expect(before).toHaveLength(3);
    // a UDP flow to the port the bad requests map: an ADD that went ahead would flush its entry
    const client = wireToNode(node, 'client', 206);
    expect(await talk(client.ns, 'udp', client.nodeV4, 5300, 40001)).toBe('timeout');
    const flows = conntrackCount(node);
    expect(flows).toBeGreaterThan(0);
    for (const [label, make, code, msg] of CASES) {
      const res = await cni('ADD', { node, pod, id: 'bad', conf: make(pod) });
      expect(res.code, label).not.toBe(0);
      expect((res.json as ErrJson).code, `${label}: ${res.stdout}`).toBe(code);
      expect((res.json as ErrJson).msg, label).toMatch(msg);
      expect(portmapElements(node), label).toEqual(before);
      expect(conntrackCount(node), label).toBe(flows);
    }
  });

  it('a host port held by another attachment: code 7 naming it, and nothing of the request is added', async () => {
    const { node, pod } = nodeAndPod();
    const ok = await cni('ADD', { node, pod, id: 'first', conf: conf(pod) });
    expect(ok.code, ok.stdout).toBe(0);
    const before = portmapElements(node);
    const mappings = [udp(5300), { hostPort: 8080, containerPort: 81, protocol: 'TCP' }];
    const res = await cni('ADD', { node, pod, id: 'second', conf: conf(pod, { mappings, prev: prevResult(pod, '10.98.0.6/24') }) });
    expect(res.code).not.toBe(0);
    expect(res.json).toMatchObject({
      code: 7,
      msg: expect.stringMatching(/host port tcp\/8080 is already mapped to another attachment \(first\/eth0 of network pmnet\)/),
    });
    expect(portmapElements(node)).toEqual(before);
    // the same attachment again (a repeated ADD) is fine; its DEL leaves no table content behind
    expect((await cni('ADD', { node, pod, id: 'first', conf: conf(pod) })).code).toBe(0);
    expect(portmapElements(node)).toEqual(before);
    expect((await cni('DEL', { node, pod, id: 'first', conf: conf(pod, { mappings: [], prev: null }) })).code).toBe(0);
    expect(portmapElements(node)).toEqual([]);
    expect(portmapTables(node)).toEqual(['ip fastcni-portmap']);
  });
});
