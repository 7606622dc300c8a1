// An IPAM result read as ConfigureIface reads it: IPs on one interface, routes through the first
// gateway of their family, the config's DNS over IPAM's.
import { describe, expect, it } from 'vitest';
import { chooseDns, planIface, resolveRoutes } from '../../src/ipam/iface-plan.js';
import { CniError } from '../../src/spec/errors.js';

describe('planIface', () => {
  const ipam = {
    ips: [
      { address: '10.1.0.5/24', gateway: '10.1.0.1' },
      { address: 'fd00::5/64', gateway: 'fd00::1' },
      { address: '10.2.0.5/24', gateway: '10.2.0.1' },
    ],
    routes: [{ dst: '0.0.0.0/0' }, { dst: '::/0', priority: 5 }, { dst: '192.0.2.0/24', gw: '10.2.0.1', table: 7 }],
  };

  it('puts every IP on the interface and resolves gateways per family', () => {
    const plan = planIface(ipam, 0, true);
    expect(plan.ips.map((i) => i.interface)).toEqual([0, 0, 0]);
    expect(plan.routes).toEqual(ipam.routes);
    expect(plan.iface).toEqual({
      addresses: ['10.1.0.5/24', 'fd00::5/64', '10.2.0.5/24'],
      routes: [
        { dst: '0.0.0.0/0', gw: '10.1.0.1' },
        { dst: '::/0', gw: 'fd00::1', priority: 5 },
        { dst: '192.0.2.0/24', gw: '10.2.0.1', table: 7 },
      ],
      notify: true,
      settle: true,
    });
    expect(ipam.ips[0]).not.toHaveProperty('interface');
  });

  it('settles the addresses only when an IP has an IPv6 gateway, as ConfigureIface does', () => {
    const v6 = (gateway?: string) => planIface({ ips: [{ address: 'fd00::5/64', ...(gateway ? { gateway } : {}) }] }, 0).iface.settle;
    expect(v6('fd00::1')).toBe(true);
    expect(v6()).toBe(false);
    // a route's IPv6 gateway is not the reference's condition (iface::configure waits for it anyway)
    expect(
      planIface({ ips: [{ address: '10.1.0.5/24', gateway: '10.1.0.1' }], routes: [{ dst: '::/0', gw: 'fd00::1' }] }, 0).iface.settle,
    ).toBe(false);
  });

  it('leaves a route on-link when its family has no gateway', () => {
    expect(resolveRoutes([{ dst: '::/0' }], [{ address: '10.1.0.5/24', gateway: '10.1.0.1' }])).toEqual([{ dst: '::/0' }]);
  });

  it('refuses a gateway of the other family, naming the result field', () => {
    const e = (() => {
      try {
        planIface({ ips: [{ address: '10.1.0.5/24', gateway: 'fd00::1' }] }, 0);
      } catch (err) {
        return err;
      }
    })();
    expect(e).toBeInstanceOf(CniError);
    expect((e as CniError).code).toBe(7);
    expect((e as CniError).message).toContain('ips[0].gateway');
  });
});

describe('chooseDns', () => {
  it('lets the config DNS replace the IPAM DNS only when set', () => {
    const ipam = { dns: { nameservers: ['10.0.0.53'] } };
    expect(chooseDns(undefined, ipam)).toEqual({ nameservers: ['10.0.0.53'] });
    expect(chooseDns({}, ipam)).toEqual({ nameservers: ['10.0.0.53'] });
    expect(chooseDns({ domain: 'x.local' }, ipam)).toEqual({ domain: 'x.local' });
    expect(chooseDns({ search: [] }, ipam)).toEqual({ search: [] });
  });
});
