// The dhcp plugin's pure parts: its config (option names and numbers, defaults, bad entries with the
// field's path), the options provided from CNI_ARGS, the result a lease gives, the lease's T1/T2,
// and the client ID.
import { describe, expect, it } from 'vitest';
import { dhcpConfigSchema, optionCode } from '../../plugins/dhcp/config.js';
import { leaseResult, provideOptions } from '../../plugins/dhcp/plan.js';
import { leaseTimes, retryAt } from '../../src/dhcp/lease-times.js';
import { clientId, DEFAULT_DAEMON_SOCKET } from '../../src/dhcp/protocol.js';
import { CniError } from '../../src/spec/errors.js';
import type { DhcpLease } from '../../src/native.js';

const base = { cniVersion: '1.0.0', name: 'net1', type: 'bridge' };

function issues(ipam: Record<string, unknown>): Array<{ path: string; message: string }> {
  const r = dhcpConfigSchema.safeParse({ ...base, ipam: { type: 'dhcp', ...ipam } });
  return r.success ? [] : r.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
}

describe('config', () => {
  it('defaults: the reference socket, routers and subnet mask requested, nothing provided', () => {
    const c = dhcpConfigSchema.parse({ ...base, ipam: { type: 'dhcp' } });
    expect(c).toEqual({ name: 'net1', daemonSocketPath: DEFAULT_DAEMON_SOCKET, request: [3, 1], provide: [] });
  });

  it('reads option names and numbers; skipDefault drops the default requests', () => {
    expect(optionCode('host-name')).toBe(12);
    expect(optionCode('121')).toBe(121);
    expect(optionCode(60)).toBe(60);
    expect(optionCode('256')).toBeUndefined();
    expect(optionCode('hostname')).toBeUndefined();
    const c = dhcpConfigSchema.parse({
      ...base,
      ipam: { request: [{ option: '121' }, { option: '58', skipDefault: true }], priority: 7 },
    });
    expect(c.request).toEqual([121, 58]);
    expect(c.priority).toBe(7);
  });

  it('refuses bad provide and request entries naming the field (code 7 through the skeleton)', () => {
    expect(issues({ provide: [{ option: 'no-such-option', value: 'x' }] })).toEqual([
      { path: 'ipam.provide.0.option', message: 'Can not parse option "no-such-option": not an option name nor a number from 0 to 255' },
    ]);
    expect(issues({ provide: [{ option: 'host-name' }] })).toEqual([{ path: 'ipam.provide.0', message: 'needs a value or fromArg' }]);
    expect(issues({ provide: [{ option: 12, value: 'x'.repeat(256) }] })[0]?.path).toBe('ipam.provide.0.value');
    expect(issues({ request: [{ option: '300' }] })[0]?.path).toBe('ipam.request.0.option');
    expect(issues({ priority: -1 })[0]?.path).toBe('ipam.priority');
    const r = dhcpConfigSchema.safeParse(base);
    expect(r.success).toBe(false);
    expect(r.error?.issues[0]?.message).toBe("IPAM config missing 'ipam' key");
  });
});

describe('provided options', () => {
  const conf = dhcpConfigSchema.parse({
    ...base,
    ipam: {
      provide: [
        { option: 'host-name', value: 'fixed', fromArg: 'K8S_POD_NAME' },
        { option: 'user-class', fromArg: 'MISSING' },
      ],
    },
  });

  it('take the CNI_ARGS value over the fixed one, and skip an argument that is not there', () => {
    expect(provideOptions(conf, 'IgnoreUnknown=1;K8S_POD_NAME=web-0')).toEqual([{ code: 12, value: [...Buffer.from('web-0')] }]);
    expect(provideOptions(conf, undefined)).toEqual([{ code: 12, value: [...Buffer.from('fixed')] }]);
  });

  it('refuse a CNI_ARGS value longer than an option holds, with code 4', () => {
    let e: unknown;
    try {
      provideOptions(conf, `K8S_POD_NAME=${'x'.repeat(256)}`);
    } catch (err) {
      e = err;
    }
    expect(e).toBeInstanceOf(CniError);
    expect((e as CniError).code).toBe(4);
  });
});

const lease: DhcpLease = {
  address: '10.9.0.50',
  prefixLen: 24,
  router: '10.9.0.1',
  server: '10.9.0.1',
  leaseSecs: 120,
  classlessRoutes: [],
  staticRoutes: [],
  dnsServers: [],
};

describe('result of a lease', () => {
  it('one address with the router as gateway, a default route through it', () => {
    expect(leaseResult(lease, {})).toEqual({
      ips: [{ address: '10.9.0.50/24', gateway: '10.9.0.1' }],
      routes: [{ dst: '0.0.0.0/0', gw: '10.9.0.1' }],
    });
  });

  it("option 33's routes come before the default route; priority is every route's metric", () => {
    const r = leaseResult({ ...lease, staticRoutes: [{ dst: '172.16.0.0/16', gw: '10.9.0.7' }] }, { priority: 5 });
    expect(r.routes).toEqual([
      { dst: '172.16.0.0/16', gw: '10.9.0.7', priority: 5 },
      { dst: '0.0.0.0/0', gw: '10.9.0.1', priority: 5 },
    ]);
  });

  it('option 121 replaces option 33 and the router; its router 0.0.0.0 is a link-scope route', () => {
    const r = leaseResult(
      {
        ...lease,
        staticRoutes: [{ dst: '172.16.0.0/16', gw: '10.9.0.7' }],
        classlessRoutes: [{ dst: '192.168.5.0/24' }, { dst: '0.0.0.0/0', gw: '10.9.0.254' }],
      },
      {},
    );
    expect(r.routes).toEqual([
      { dst: '192.168.5.0/24', scope: 253 },
      { dst: '0.0.0.0/0', gw: '10.9.0.254' },
    ]);
    expect(r.ips).toEqual([{ address: '10.9.0.50/24', gateway: '10.9.0.1' }]);
  });

  it('no router: no gateway and no routes; no subnet mask: the reference error', () => {
    const { router: _, ...noRouter } = lease;
    expect(leaseResult(noRouter, {})).toEqual({ ips: [{ address: '10.9.0.50/24' }] });
    const { prefixLen: __, ...noMask } = lease;
    expect(() => leaseResult(noMask, {})).toThrow('DHCP option Subnet Mask not found in DHCPACK');
  });
});

describe('lease times', () => {
  it('T1 50 % and T2 85 % of the lease by default; the server values when they make sense', () => {
    expect(leaseTimes({ lease: { leaseSecs: 100 }, boundAt: 0 })).toEqual({ t1: 50_000, t2: 85_000, expiry: 100_000 });
    expect(leaseTimes({ lease: { leaseSecs: 100, renewSecs: 10, rebindSecs: 20 }, boundAt: 1000 })).toEqual({
      t1: 11_000,
      t2: 21_000,
      expiry: 101_000,
    });
    // a T2 past the lease and a T1 past T2 fall back to the defaults, as in the reference
    expect(leaseTimes({ lease: { leaseSecs: 100, renewSecs: 90, rebindSecs: 200 }, boundAt: 0 })).toEqual({
      t1: 50_000,
      t2: 85_000,
      expiry: 100_000,
    });
    expect(leaseTimes({ lease: { leaseSecs: 0xffffffff }, boundAt: 0 }).t1).toBe(Infinity);
  });

  it('a failed renewal tries again halfway to T2, a failed rebinding halfway to expiry, at least a second apart', () => {
    const t = { t1: 50_000, t2: 85_000, expiry: 100_000 };
    expect(retryAt(t, 55_000)).toBe(70_000);
    expect(retryAt(t, 90_000)).toBe(95_000);
    expect(retryAt(t, 84_900)).toBe(85_000);
    expect(retryAt(t, 99_500)).toBe(100_000);
  });
});

describe('client ID', () => {
  it('is <containerID>/<network>/<ifname>, cut to 254 bytes', () => {
    expect(clientId({ containerId: 'c1', network: 'net1', ifname: 'eth0' })).toBe('c1/net1/eth0');
    expect(Buffer.byteLength(clientId({ containerId: 'x'.repeat(300), network: 'n', ifname: 'eth0' }))).toBe(254);
  });
});
