// The cluster file: defaults, and every rejection naming its field; node subnets carved from the
// cluster CIDR (edges: /16 into /24, IPv6 of the same index, the last subnet, keys).
import { describe, expect, it } from 'vitest';
import { ClusterConfigError, parseClusterConfig } from '../../src/cluster/config.js';
import { indexOf, subnetCount, subnetKeyName, subnetOfKeyName, subnetsAt, subnetTexts } from '../../src/cluster/subnets.js';
import { cidrText } from '../../src/net/ip.js';

const base = { clusterCIDR: '10.244.0.0/16', etcd: { endpoints: ['http://127.0.0.1:2379'] }, nodeName: 'n1' };

function error(input: unknown): string {
  try {
    parseClusterConfig(input, 'c.json');
  } catch (e) {
    expect(e).toBeInstanceOf(ClusterConfigError);
    return (e as Error).message;
  }
  throw new Error('accepted');
}

describe('cluster config', () => {
  it('fills the defaults', () => {
    const c = parseClusterConfig(base);
    expect(cidrText(c.clusterCIDR)).toBe('10.244.0.0/16');
    expect(c).toMatchObject({
      nodePrefixLength: 24,
      nodePrefixLength6: 64,
      backend: 'host-gw',
      etcd: { prefix: '/fastcni/cluster' },
      leaseTTL: 10,
      subnetFile: '/run/flannel/subnet.env',
      stateDir: '/var/lib/fastcni/cluster',
      vxlan: {},
    });
    expect(c.clusterCIDR6).toBeUndefined();
    expect(parseClusterConfig({ ...base, nodeName: undefined }).nodeName.length).toBeGreaterThan(0);
  });

  it.each([
    [{ ...base, clusterCIDR: undefined }, 'c.json: clusterCIDR: '],
    [{ ...base, clusterCIDR: 'fd00::/48' }, 'c.json: clusterCIDR: not an IPv4 CIDR'],
    [{ ...base, clusterCIDR: '10.244.1.0/16' }, 'c.json: clusterCIDR: 10.244.1.0/16 has host bits set (did you mean 10.244.0.0/16?)'],
    [{ ...base, clusterCIDR6: '10.1.0.0/16' }, 'c.json: clusterCIDR6: not an IPv6 CIDR'],
    [{ ...base, nodePrefixLength: 8 }, "c.json: nodePrefixLength: 8 is shorter than clusterCIDR's /16: no node subnet fits"],
    [{ ...base, nodePrefixLength: 31 }, 'c.json: nodePrefixLength: 31 leaves no room for pods (at most 30)'],
    [{ ...base, nodePrefixLength: '24' }, 'c.json: nodePrefixLength: '],
    [
      { ...base, clusterCIDR6: 'fd00::/56', nodePrefixLength6: 60 },
      'c.json: nodePrefixLength6: clusterCIDR6 holds fewer /60 subnets than clusterCIDR holds /24',
    ],
    [
      { ...base, clusterCIDR6: 'fd00:10:244::/56' },
      "c.json: clusterCIDR6: the host-gw backend routes a peer's pod subnets through its publicIP, which must be IPv4",
    ],
    [
      { ...base, backend: 'host-gw', clusterCIDR6: 'fd00:10:244::/56', publicIP: 'fd00:50::10' },
      'c.json: clusterCIDR6: the host-gw backend routes',
    ],
    [{ ...base, publicIP: 'fd00:50::10' }, 'c.json: publicIP: the host-gw backend routes the IPv4 pod subnets of clusterCIDR through'],
    [{ ...base, backend: 'udp' }, 'c.json: backend: '],
    [{ ...base, etcd: { endpoints: [] } }, 'c.json: etcd.endpoints: '],
    [{ ...base, etcd: { endpoints: ['127.0.0.1:2379'] } }, 'c.json: etcd.endpoints[0]: not an http(s)://host:port URL'],
    [{ ...base, etcd: { endpoints: ['http://127.0.0.1:2379'], prefix: 'x/' } }, 'c.json: etcd.prefix: must start with "/"'],
    [{ ...base, publicIP: '192.168.1' }, 'c.json: publicIP: not an IP address'],
    [{ ...base, leaseTTL: 1 }, 'c.json: leaseTTL: '],
    [{ ...base, vxlan: { vni: 0 } }, 'c.json: vxlan.vni: '],
    [{ ...base, vxlan: { device: 'a-very-long-device-name' } }, 'c.json: vxlan.device: '],
    [{ ...base, subnetfile: '/x' }, 'c.json: subnetfile: unknown field'],
    [[], 'c.json: (top level): '],
  ])('rejects %j naming the field', (input, msg) => {
    expect(error(input)).toContain(msg);
  });

  it('takes clusterCIDR6 with vxlan, over an IPv4 or an IPv6 underlay', () => {
    for (const publicIP of [undefined, '192.168.50.10', 'fd00:50::10']) {
      const c = parseClusterConfig({ ...base, backend: 'vxlan', clusterCIDR6: 'fd00:10:244::/56', ...(publicIP ? { publicIP } : {}) });
      expect(c.clusterCIDR6 && cidrText(c.clusterCIDR6)).toBe('fd00:10:244::/56');
    }
  });
});

describe('node subnets', () => {
  const v4 = parseClusterConfig(base);
  const dual = parseClusterConfig({ ...base, backend: 'vxlan', clusterCIDR6: 'fd00:10:244::/48', nodePrefixLength6: 64 });

  it('carves a /16 into 256 /24s, index ↔ subnet both ways', () => {
    expect(subnetCount(v4)).toBe(256);
    expect(subnetTexts(subnetsAt(v4, 0)!)).toEqual(['10.244.0.0/24']);
    expect(subnetTexts(subnetsAt(v4, 3)!)).toEqual(['10.244.3.0/24']);
    expect(subnetTexts(subnetsAt(v4, 255)!)).toEqual(['10.244.255.0/24']);
    expect(subnetsAt(v4, 256)).toBeUndefined();
    expect(subnetsAt(v4, -1)).toBeUndefined();
    for (const i of [0, 1, 77, 255]) expect(indexOf(v4, subnetTexts(subnetsAt(v4, i)!)[0]!)).toBe(i);
    // not one of ours: outside, misaligned, another length, another family
    for (const t of ['10.245.0.0/24', '10.244.3.128/24', '10.244.3.0/25', 'fd00::/64', 'garbage']) expect(indexOf(v4, t)).toBeUndefined();
  });

  it('gives the IPv6 subnet of the same index', () => {
    expect(subnetTexts(subnetsAt(dual, 0)!)).toEqual(['10.244.0.0/24', 'fd00:10:244::/64']);
    expect(subnetTexts(subnetsAt(dual, 3)!)).toEqual(['10.244.3.0/24', 'fd00:10:244:3::/64']);
    expect(subnetTexts(subnetsAt(dual, 255)!)).toEqual(['10.244.255.0/24', 'fd00:10:244:ff::/64']);
  });

  it('stops at the end of a small cluster CIDR', () => {
    const small = parseClusterConfig({ ...base, clusterCIDR: '10.9.0.0/23' });
    expect(subnetCount(small)).toBe(2);
    expect(subnetTexts(subnetsAt(small, 1)!)).toEqual(['10.9.1.0/24']);
    expect(subnetsAt(small, 2)).toBeUndefined();
    const one = parseClusterConfig({ ...base, clusterCIDR: '10.9.0.0/24' });
    expect(subnetCount(one)).toBe(1);
  });

  it('names keys by the IPv4 subnet and reads them back', () => {
    const s = subnetsAt(v4, 3)!;
    expect(subnetKeyName(s)).toBe('10.244.3.0-24');
    expect(subnetOfKeyName('10.244.3.0-24')).toBe('10.244.3.0/24');
    expect(subnetOfKeyName('10.244.3.0')).toBeUndefined();
    expect(subnetOfKeyName('x-24')).toBeUndefined();
  });
});
