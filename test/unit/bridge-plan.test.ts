// The bridge plugin's pure decisions: config rules, VLAN trunks, MAC precedence, gateways and routes.
import { describe, expect, it } from 'vitest';
import { bridgeConfigSchema, containerMac, trunkVlans } from '../../plugins/bridge/config.js';
import { planL3 } from '../../plugins/bridge/plan.js';
import { CniError } from '../../src/spec/errors.js';

const base = { name: 'n', cniVersion: '1.0.0', type: 'bridge' };
const parse = (extra: Record<string, unknown>) => bridgeConfigSchema.safeParse({ ...base, ...extra });

describe('bridge config', () => {
  it('fills the reference defaults', () => {
    const c = bridgeConfigSchema.parse(base);
    expect(c).toMatchObject({
      bridge: 'cni0',
      isGateway: false,
      isDefaultGateway: false,
      forceAddress: false,
      ipMasq: false,
      mtu: 0,
      hairpinMode: false,
      promiscMode: false,
      vlan: 0,
      preserveDefaultVlan: false,
      macspoofchk: false,
      enabledad: false,
      disableContainerInterface: false,
      portIsolation: false,
    });
  });

  it.each([
    [{ vlan: 4095 }, 'invalid VLAN ID 4095 (must be between 0 and 4094)'],
    [{ vlan: -1 }, 'invalid VLAN ID -1'],
    [{ vlanTrunk: [{ minID: 5 }] }, 'maxID is missing'],
    [{ vlanTrunk: [{ maxID: 5 }] }, 'minID is missing'],
    [{ vlanTrunk: [{ minID: 9, maxID: 5 }] }, 'minID is greater than maxID'],
    [{ vlanTrunk: [{ id: 0 }] }, 'incorrect trunk id parameter'],
    [{ vlanTrunk: [{ minID: 0, maxID: 5 }] }, 'incorrect trunk minID parameter'],
    [{ vlanTrunk: [{ minID: 1, maxID: 4095 }] }, 'incorrect trunk maxID parameter'],
    [{ vlan: 3, vlanTrunk: [{ id: 5 }] }, 'cannot set vlan and vlanTrunk at the same time'],
    [{ hairpinMode: true, promiscMode: true }, 'cannot set hairpin mode and promiscuous mode at the same time'],
    [{ disableContainerInterface: true, ipam: { type: 'host-local' } }, 'cannot use IPAM'],
    [{ mtu: 'big' }, ''],
  ])('rejects %j', (extra, message) => {
    const r = parse(extra);
    expect(r.success).toBe(false);
    expect(r.error!.issues.map((i) => i.message).join('\n')).toContain(message);
  });

  it('merges trunk ranges and ids, sorted and unique', () => {
    expect(trunkVlans([{ minID: 3, maxID: 5 }, { id: 4 }, { id: 10 }])).toEqual([3, 4, 5, 10]);
    expect(trunkVlans(undefined)).toEqual([]);
  });

  it('takes the MAC from runtimeConfig, then args, then CNI_ARGS', () => {
    const all = bridgeConfigSchema.parse({
      ...base,
      runtimeConfig: { mac: 'aa:00:00:00:00:01' },
      args: { cni: { mac: 'aa:00:00:00:00:02' } },
    });
    expect(containerMac(all, [['MAC', 'aa:00:00:00:00:03']])).toBe('aa:00:00:00:00:01');
    const argsOnly = bridgeConfigSchema.parse({ ...base, args: { cni: { mac: 'aa:00:00:00:00:02' } } });
    expect(containerMac(argsOnly, [['MAC', 'aa:00:00:00:00:03']])).toBe('aa:00:00:00:00:02');
    expect(containerMac(bridgeConfigSchema.parse(base), [['MAC', 'aa:00:00:00:00:03']])).toBe('aa:00:00:00:00:03');
    expect(containerMac(bridgeConfigSchema.parse(base), [])).toBeUndefined();
  });
});

describe('bridge L3 plan', () => {
  it('computes gateway .1, a default route and the bridge address for isDefaultGateway', () => {
    const conf = bridgeConfigSchema.parse({ ...base, isDefaultGateway: true });
    const plan = planL3(conf, { ips: [{ address: '10.1.2.7/24' }] });
    expect(plan.ips).toEqual([{ address: '10.1.2.7/24', gateway: '10.1.2.1', interface: 2 }]);
    expect(plan.routes).toEqual([{ dst: '0.0.0.0/0', gw: '10.1.2.1' }]);
    expect(plan.nativeRoutes).toEqual([{ dst: '0.0.0.0/0', gw: '10.1.2.1' }]);
    expect(plan.bridgeAddresses).toEqual(['10.1.2.1/24']);
    expect(plan).toMatchObject({ forwardV4: true, forwardV6: false });
  });

  it('keeps an IPAM gateway and an existing default route', () => {
    const conf = bridgeConfigSchema.parse({ ...base, isDefaultGateway: true });
    const plan = planL3(conf, {
      ips: [{ address: '10.1.2.7/24', gateway: '10.1.2.254' }],
      routes: [{ dst: '0.0.0.0/0', gw: '10.1.2.254' }],
    });
    expect(plan.routes).toEqual([{ dst: '0.0.0.0/0', gw: '10.1.2.254' }]);
    expect(plan.bridgeAddresses).toEqual(['10.1.2.254/24']);
  });

  it('resolves route gateways per family and handles IPv6', () => {
    const conf = bridgeConfigSchema.parse({ ...base, isGateway: true });
    const plan = planL3(conf, {
      ips: [{ address: 'fd00:1::9/64' }, { address: '10.0.0.5/16' }],
      routes: [{ dst: '::/0' }, { dst: '192.168.0.0/16' }],
    });
    expect(plan.ips.map((i) => i.gateway)).toEqual(['fd00:1::1', '10.0.0.1']);
    expect(plan.nativeRoutes).toEqual([
      { dst: '::/0', gw: 'fd00:1::1' },
      { dst: '192.168.0.0/16', gw: '10.0.0.1' },
    ]);
    expect(plan.routes).toEqual([{ dst: '::/0' }, { dst: '192.168.0.0/16' }]);
    expect(plan.bridgeAddresses).toEqual(['fd00:1::1/64', '10.0.0.1/16']);
    expect(plan).toMatchObject({ forwardV4: true, forwardV6: true });
  });

  it('without isGateway adds no gateway and no bridge address', () => {
    const conf = bridgeConfigSchema.parse(base);
    const plan = planL3(conf, { ips: [{ address: '10.1.2.7/24' }], routes: [{ dst: '10.9.0.0/16' }] });
    expect(plan.ips).toEqual([{ address: '10.1.2.7/24', interface: 2 }]);
    expect(plan.nativeRoutes).toEqual([{ dst: '10.9.0.0/16' }]);
    expect(plan.bridgeAddresses).toEqual([]);
    expect(plan).toMatchObject({ forwardV4: false, forwardV6: false });
  });

  it('refuses an IPAM gateway of the other family than its address, naming the result field', () => {
    const conf = bridgeConfigSchema.parse({ ...base, isGateway: true });
    const refused = (ips: Array<{ address: string; gateway?: string }>) => {
      try {
        planL3(conf, { ips });
      } catch (e) {
        return e as CniError;
      }
      throw new Error('planL3 accepted it');
    };
    const e = refused([{ address: '10.1.2.7/24', gateway: 'fd00::1' }]);
    expect(e).toBeInstanceOf(CniError);
    expect(e.code).toBe(7);
    expect(e.message).toBe('IPAM result ips[0].gateway: fd00::1 is not of the family of the address 10.1.2.7/24');
    expect(refused([{ address: '10.1.2.7/24' }, { address: 'fd00::7/64', gateway: '10.1.2.1' }]).message).toContain('ips[1].gateway');
    // an IPv4-mapped IPv6 gateway is IPv4, as Go's To4() sees it
    expect(planL3(conf, { ips: [{ address: '10.1.2.7/24', gateway: '::ffff:10.1.2.1' }] }).ips[0]!.gateway).toBe('::ffff:10.1.2.1');
  });
});
