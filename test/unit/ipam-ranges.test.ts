// Address text forms, range defaults and host-local config validation (messages as the reference's).
import { describe, expect, it } from 'vitest';
import { formatIp, parseCidr, parseIp } from '../../src/ipam/ip.js';
import { canonicalizeRange, rangeSetString } from '../../src/ipam/ranges.js';
import { hostLocalConfigSchema } from '../../plugins/host-local/config.js';
import { parseWithSchema } from '../../src/spec/zod-errors.js';
import { CniError } from '../../src/spec/errors.js';

function ip(text: string) {
  const v = parseIp(text);
  if (!v) throw new Error(`bad ip ${text}`);
  return v;
}

function configError(conf: unknown): CniError {
  try {
    parseWithSchema(hostLocalConfigSchema, conf);
  } catch (e) {
    if (e instanceof CniError) return e;
    throw e;
  }
  throw new Error('config was accepted');
}

const base = (ipam: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  cniVersion: '1.0.0',
  name: 'n',
  type: 'host-local',
  ipam: { type: 'host-local', ...ipam },
  ...extra,
});

describe('address text like Go', () => {
  it.each([
    ['10.1.2.3', '10.1.2.3'],
    ['2001:DB8:0:0:0:0:0:5', '2001:db8::5'],
    ['2001:db8:0:1:0:0:0:1', '2001:db8:0:1::1'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['::', '::'],
    ['fd00::ffff', 'fd00::ffff'],
    ['2001:db8:1:2:3:4:0:6', '2001:db8:1:2:3:4:0:6'],
    ['::ffff:10.0.0.1', '10.0.0.1'],
  ])('%s prints as %s', (input, out) => {
    expect(formatIp(ip(input))).toBe(out);
  });

  it('rejects what net.ParseIP rejects', () => {
    for (const bad of ['10.0.0.01', '10.0.0', 'fe80::1%eth0', '10.0.0.1/24', 'foo', '']) expect(parseIp(bad)).toBeUndefined();
    expect(parseCidr('10.0.0.5/24')?.prefix).toBe(24);
    expect(parseCidr('10.0.0.0/33')).toBeUndefined();
  });
});

describe('range defaults', () => {
  it('IPv4: gateway .1, start .1, end excludes the broadcast', () => {
    const r = canonicalizeRange({ subnet: '10.1.0.0/24' });
    expect([formatIp(r.gateway), formatIp(r.rangeStart), formatIp(r.rangeEnd)]).toEqual(['10.1.0.1', '10.1.0.1', '10.1.0.254']);
  });

  it('IPv6: end is the very last address of the subnet', () => {
    const r = canonicalizeRange({ subnet: 'fd00:1::/64' });
    expect(formatIp(r.rangeEnd)).toBe('fd00:1::ffff:ffff:ffff:ffff');
    expect(formatIp(r.gateway)).toBe('fd00:1::1');
  });

  it('keeps explicit bounds and prints the set as start-end pairs', () => {
    const r = canonicalizeRange({ subnet: '10.1.0.0/24', rangeStart: '10.1.0.10', rangeEnd: '10.1.0.20', gateway: '10.1.0.254' });
    expect(rangeSetString([r, canonicalizeRange({ subnet: '10.2.0.0/30' })])).toBe('10.1.0.10-10.1.0.20,10.2.0.1-10.2.0.2');
  });
});

describe('config validation', () => {
  it.each([
    [
      { ranges: [[{ subnet: '10.0.0.1/24' }]] },
      'ipam.ranges[0][0].subnet',
      'invalid range set 0: Network has host bits set. For a subnet mask of length 24 the network address is 10.0.0.0',
    ],
    [
      { ranges: [[{ subnet: '10.0.0.0/31' }]] },
      'ipam.ranges[0][0].subnet',
      'invalid range set 0: Network 10.0.0.0/31 too small to allocate from',
    ],
    [
      { ranges: [[{ subnet: '10.0.0.0/24', rangeStart: '10.1.0.1' }]] },
      'ipam.ranges[0][0].rangeStart',
      'invalid range set 0: RangeStart 10.1.0.1 not in network 10.0.0.0/24',
    ],
    [
      { ranges: [[{ subnet: '10.0.0.0/24', rangeEnd: '10.1.0.1' }]] },
      'ipam.ranges[0][0].rangeEnd',
      'invalid range set 0: RangeEnd 10.1.0.1 not in network 10.0.0.0/24',
    ],
    [
      { ranges: [[{ subnet: '10.0.0.0/24' }, { subnet: 'fd00::/64' }]] },
      'ipam.ranges[0][1]',
      'invalid range set 0: mixed address families',
    ],
    [
      { ranges: [[{ subnet: '10.0.0.0/24' }, { subnet: '10.0.0.0/25' }]] },
      'ipam.ranges[0][1]',
      'invalid range set 0: subnets 10.0.0.1-10.0.0.254 and 10.0.0.1-10.0.0.126 overlap',
    ],
    [{ ranges: [[{ subnet: '10.0.0.0/24' }], [{ subnet: '10.0.0.0/25' }]] }, 'ipam.ranges[1]', 'range set 0 overlaps with 1'],
    [{ ranges: [[]] }, 'ipam.ranges[0]', 'invalid range set 0: empty range set'],
    [{ ranges: [] }, 'ipam.ranges', 'no IP ranges specified'],
    [{ ranges: [[{ subnet: 'foo' }]] }, 'ipam.ranges[0][0].subnet', 'invalid range set 0: invalid CIDR address: foo'],
    [
      { ranges: [[{ subnet: '10.0.0.0/24', gateway: 'bar' }]] },
      'ipam.ranges[0][0].gateway',
      'invalid range set 0: invalid IP address: bar',
    ],
    [
      { ranges: [[{ subnet: '10.0.0.0/24', gateway: 'fd00::1' }]] },
      'ipam.ranges[0][0].gateway',
      'invalid range set 0: gateway fd00::1 is not the same protocol as subnet 10.0.0.0/24',
    ],
    [
      { ranges: [[{ subnet: 'fd00::/64', gateway: '10.0.0.1' }]] },
      'ipam.ranges[0][0].gateway',
      'invalid range set 0: gateway 10.0.0.1 is not the same protocol as subnet fd00::/64',
    ],
    [{ ranges: [[{ subnet: '10.0.0.0/24' }]], routes: [{ dst: 'garbage' }] }, 'ipam.routes[0].dst', 'invalid CIDR address: garbage'],
    [
      { ranges: [[{ subnet: '10.0.0.0/24' }]], routes: [{ dst: '0.0.0.0/0' }, { dst: '10.9.0.0/16', gw: '10.0.0.999' }] },
      'ipam.routes[1].gw',
      'invalid IP address: 10.0.0.999',
    ],
    [
      { subnet: '10.0.0.0/24', rangeStart: '10.0.1.9' },
      'ipam.rangeStart',
      'invalid range set 0: RangeStart 10.0.1.9 not in network 10.0.0.0/24',
    ],
  ])('%j → %s', (ipam, path, msg) => {
    const e = configError(base(ipam));
    expect(e.code).toBe(7);
    expect(e.message).toBe(`${path}: ${msg}`);
  });

  it('needs an ipam block and, below 0.3.0, one range set per family', () => {
    expect(configError({ cniVersion: '0.4.0', name: 'n', type: 'host-local' }).message).toBe("ipam: IPAM config missing 'ipam' key");
    const e = configError(base({ ranges: [[{ subnet: '10.0.0.0/24' }], [{ subnet: '10.1.0.0/24' }]] }, { cniVersion: '0.2.0' }));
    expect(e.message).toBe('cniVersion: CNI version 0.2.0 does not support more than 1 address per family');
  });

  it('puts runtimeConfig.ipRanges and the legacy range before ipam.ranges, keys matched case-insensitively', () => {
    const c = parseWithSchema(
      hostLocalConfigSchema,
      base(
        { Subnet: '10.2.0.0/24', RANGES: [[{ SUBNET: '10.3.0.0/24' }]], DataDir: '/x' },
        { runtimeConfig: { ipRanges: [[{ subnet: '10.1.0.0/24' }]], ips: ['10.1.0.9/24'] }, args: { cni: { ips: ['10.3.0.7'] } } },
      ),
    );
    expect(c.ranges.map((s) => rangeSetString(s))).toEqual(['10.1.0.1-10.1.0.254', '10.2.0.1-10.2.0.254', '10.3.0.1-10.3.0.254']);
    expect(c.dataDir).toBe('/x');
    expect(c.requestedIps.map(formatIp)).toEqual(['10.3.0.7', '10.1.0.9']);
  });

  it('defaults dataDir to /var/lib/cni/networks', () => {
    expect(parseWithSchema(hostLocalConfigSchema, base({ ranges: [[{ subnet: '10.0.0.0/24' }]] })).dataDir).toBe('/var/lib/cni/networks');
  });
});
