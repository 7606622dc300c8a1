import { describe, expect, test } from 'vitest';
import { convertResult, parseResult, resultForVersion, toCurrentResult } from '../../src/spec/result-convert.js';
import { formatResult } from '../../src/spec/result-print.js';
import type { Result } from '../../src/spec/result.js';
import { ALL_VERSIONS } from '../../src/spec/versions.js';

/** Pretty JSON with 4 spaces: golden objects are written in the exact key order expected. */
const golden = (o: unknown) => JSON.stringify(o, null, 4);

const dual: Result = {
  cniVersion: '1.1.0',
  interfaces: [
    { name: 'cni0', mac: '00:11:22:33:44:55', mtu: 1500 },
    { name: 'eth0', mac: '00:11:22:33:44:66', sandbox: '/var/run/netns/x', socketPath: '/run/s.sock', pciID: '0000:00:01.0' },
  ],
  ips: [
    { interface: 1, address: '10.1.0.5/24', gateway: '10.1.0.1' },
    { interface: 1, address: '10.1.0.6/24' },
    { interface: 1, address: '2001:DB8:0::5/64', gateway: '2001:db8::1' },
  ],
  routes: [
    { dst: '0.0.0.0/0' },
    { dst: '10.2.0.0/16', gw: '10.1.0.254', mtu: 1400, table: 0, scope: 0 },
    { dst: '::/0', gw: '2001:db8::1', priority: 5 },
  ],
  dns: { nameservers: ['10.1.0.1'], search: ['example.com'] },
};

describe('1.1.0 down', () => {
  test('dual-stack to 0.2.0: first v4/v6, routes split keeping dst/gw, struct order, dns present', () => {
    expect(formatResult(resultForVersion(dual, '0.2.0'), '0.2.0')).toBe(
      golden({
        cniVersion: '0.2.0',
        ip4: { ip: '10.1.0.5/24', gateway: '10.1.0.1', routes: [{ dst: '0.0.0.0/0' }, { dst: '10.2.0.0/16', gw: '10.1.0.254' }] },
        ip6: { ip: '2001:db8::5/64', gateway: '2001:db8::1', routes: [{ dst: '::/0', gw: '2001:db8::1' }] },
        dns: { nameservers: ['10.1.0.1'], search: ['example.com'] },
      }),
    );
  });
  test('dual-stack to 0.1.0 is 0.2.0 content with its version', () => {
    const out = JSON.parse(formatResult(resultForVersion(dual, '0.1.0'), '0.1.0'));
    expect(out.cniVersion).toBe('0.1.0');
    expect(out.ip4.ip).toBe('10.1.0.5/24');
  });
  test.each(['0.3.0', '0.3.1', '0.4.0'])('to %s: version recomputed, interface extras dropped, route extras kept, struct order', (v) => {
    expect(formatResult(resultForVersion(dual, v), v)).toBe(
      golden({
        cniVersion: v,
        interfaces: [
          { name: 'cni0', mac: '00:11:22:33:44:55' },
          { name: 'eth0', mac: '00:11:22:33:44:66', sandbox: '/var/run/netns/x' },
        ],
        ips: [
          { version: '4', interface: 1, address: '10.1.0.5/24', gateway: '10.1.0.1' },
          { version: '4', interface: 1, address: '10.1.0.6/24' },
          { version: '6', interface: 1, address: '2001:db8::5/64', gateway: '2001:db8::1' },
        ],
        routes: [
          { dst: '0.0.0.0/0' },
          { dst: '10.2.0.0/16', gw: '10.1.0.254', mtu: 1400, table: 0, scope: 0 },
          { dst: '::/0', gw: '2001:db8::1', priority: 5 },
        ],
        dns: { nameservers: ['10.1.0.1'], search: ['example.com'] },
      }),
    );
  });
  test('to 1.0.0: straight copy, interface extras survive', () => {
    expect(formatResult(resultForVersion(dual, '1.0.0'), '1.0.0')).toBe(
      golden({
        cniVersion: '1.0.0',
        dns: { nameservers: ['10.1.0.1'], search: ['example.com'] },
        interfaces: [
          { mac: '00:11:22:33:44:55', mtu: 1500, name: 'cni0' },
          { mac: '00:11:22:33:44:66', name: 'eth0', pciID: '0000:00:01.0', sandbox: '/var/run/netns/x', socketPath: '/run/s.sock' },
        ],
        ips: [
          { address: '10.1.0.5/24', gateway: '10.1.0.1', interface: 1 },
          { address: '10.1.0.6/24', interface: 1 },
          { address: '2001:db8::5/64', gateway: '2001:db8::1', interface: 1 },
        ],
        routes: [
          { dst: '0.0.0.0/0' },
          { dst: '10.2.0.0/16', gw: '10.1.0.254', mtu: 1400, scope: 0, table: 0 },
          { dst: '::/0', gw: '2001:db8::1', priority: 5 },
        ],
      }),
    );
  });
  test('L2-only result cannot become 0.2.0', () => {
    expect(() => resultForVersion({ cniVersion: '1.1.0', interfaces: [{ name: 'eth0' }] }, '0.2.0')).toThrow(
      'cannot convert: no valid IP addresses',
    );
  });
  test('routes of a family without address are lost in 0.2.0', () => {
    const r = resultForVersion({ ips: [{ address: '10.0.0.2/24' }], routes: [{ dst: '::/0' }, { dst: '1.0.0.0/8' }] }, '0.2.0');
    expect(JSON.parse(formatResult(r, '0.2.0'))).toEqual({
      cniVersion: '0.2.0',
      ip4: { ip: '10.0.0.2/24', routes: [{ dst: '1.0.0.0/8' }] },
      dns: {},
    });
  });
  test('empty dns is dropped for 1.x, kept as {} for 0.4.0 and 0.2.0; missing cniVersion means 1.1.0', () => {
    const r: Result = { ips: [{ address: '10.0.0.2/24' }] };
    expect(formatResult(resultForVersion(r, '1.1.0'), '1.1.0')).toBe(golden({ cniVersion: '1.1.0', ips: [{ address: '10.0.0.2/24' }] }));
    expect(formatResult(resultForVersion(r, '0.4.0'), '0.4.0')).toBe(
      golden({ cniVersion: '0.4.0', ips: [{ version: '4', address: '10.0.0.2/24' }], dns: {} }),
    );
    expect(formatResult(resultForVersion(r, '0.2.0'), '0.2.0')).toBe(golden({ cniVersion: '0.2.0', ip4: { ip: '10.0.0.2/24' }, dns: {} }));
  });
  test('Go escaping of <, > and &', () => {
    const r: Result = { interfaces: [{ name: 'a<b>&c' }] };
    expect(formatResult(resultForVersion(r, '1.0.0'), '1.0.0')).toContain('"name": "a\\u003cb\\u003e\\u0026c"');
  });
});

describe('up', () => {
  const r010 = {
    cniVersion: '0.1.0',
    ip4: { ip: '10.0.0.2/24', gateway: '10.0.0.1', routes: [{ dst: '0.0.0.0/0' }] },
    ip6: { ip: 'fd00::2/64', routes: [{ dst: '::/0', gw: 'fd00::1' }] },
    dns: { nameservers: ['8.8.8.8'] },
  };
  test('0.1.0 to 1.0.0: ip4 then ip6, routes concatenated, no interfaces', () => {
    const out = convertResult(parseResult(r010, '0.1.0'), '0.1.0', '1.0.0');
    expect(formatResult(out, '1.0.0')).toBe(
      golden({
        cniVersion: '1.0.0',
        dns: { nameservers: ['8.8.8.8'] },
        ips: [{ address: '10.0.0.2/24', gateway: '10.0.0.1' }, { address: 'fd00::2/64' }],
        routes: [{ dst: '0.0.0.0/0' }, { dst: '::/0', gw: 'fd00::1' }],
      }),
    );
  });
  test('0.2.0 to 0.3.0 uses "ips" with version', () => {
    const out = convertResult(parseResult({ ...r010, cniVersion: '0.2.0' }, '0.2.0'), '0.2.0', '0.3.0');
    expect(JSON.parse(formatResult(out, '0.3.0')).ips).toEqual([
      { address: '10.0.0.2/24', gateway: '10.0.0.1', version: '4' },
      { address: 'fd00::2/64', version: '6' },
    ]);
  });
  test('0.4.0 with route extras to 1.1.0 keeps them; version dropped', () => {
    const r = {
      cniVersion: '0.4.0',
      interfaces: [{ name: 'eth0', sandbox: '/x' }],
      ips: [{ version: '4', address: '10.0.0.2/24', interface: 0 }],
      routes: [{ dst: '0.0.0.0/0', mtu: 9000, table: 100 }],
    };
    expect(toCurrentResult(r, '0.4.0')).toEqual({
      cniVersion: '1.1.0',
      interfaces: [{ name: 'eth0', mac: undefined, mtu: undefined, sandbox: '/x', socketPath: undefined, pciID: undefined }],
      ips: [{ interface: 0, address: '10.0.0.2/24', gateway: undefined }],
      routes: [{ dst: '0.0.0.0/0', gw: undefined, mtu: 9000, advmss: undefined, priority: undefined, table: 100, scope: undefined }],
      dns: undefined,
    });
  });
  test('0.4.0 to 0.2.0 picks by the version field, as the reference does', () => {
    const r = parseResult({ cniVersion: '0.4.0', ips: [{ version: '6', address: '10.0.0.2/24' }] }, '0.4.0');
    expect(JSON.parse(formatResult(convertResult(r, '0.4.0', '0.2.0'), '0.2.0'))).toEqual({
      cniVersion: '0.2.0',
      ip6: { ip: '10.0.0.2/24' },
      dns: {},
    });
  });
});

describe('every version pair', () => {
  const base: Result = { cniVersion: '1.1.0', ips: [{ address: '10.9.0.2/16', gateway: '10.9.0.1' }], routes: [{ dst: '0.0.0.0/0' }] };
  for (const from of ALL_VERSIONS) {
    for (const to of ALL_VERSIONS) {
      test(`${from} -> ${to} keeps the address and default route`, () => {
        const src = resultForVersion(base, from);
        const out = JSON.parse(formatResult(convertResult(src, from, to), to));
        expect(out.cniVersion).toBe(to);
        if (to === '0.1.0' || to === '0.2.0') {
          expect(out.ip4).toEqual({ ip: '10.9.0.2/16', gateway: '10.9.0.1', routes: [{ dst: '0.0.0.0/0' }] });
        } else {
          expect(out.ips[0].address).toBe('10.9.0.2/16');
          expect(out.ips[0].version).toBe(to.startsWith('0.') ? '4' : undefined);
          expect(out.routes).toEqual([{ dst: '0.0.0.0/0' }]);
        }
      });
    }
  }
});

describe('result validation', () => {
  test('bad CIDR names the field', () => {
    expect(() => parseResult({ ips: [{ address: '10.0.0.0/33' }] }, '1.0.0', 'prevResult')).toThrow(
      'prevResult.ips[0].address: invalid CIDR "10.0.0.0/33"',
    );
  });
  test('case-insensitive keys like Go', () => {
    expect(toCurrentResult({ IPS: [{ Address: '10.0.0.2/24' }] }, '1.0.0').ips).toEqual([
      { interface: undefined, address: '10.0.0.2/24', gateway: undefined },
    ]);
  });
});
