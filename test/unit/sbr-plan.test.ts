// The sbr plugin's pure decisions: its config rules, which addresses are the interface's, and each
// address's gateway.
import { describe, expect, it } from 'vitest';
import { sbrConfigSchema } from '../../plugins/sbr/config.js';
import { interfaceIps, sbrAddresses } from '../../plugins/sbr/plan.js';

const parse = (extra: Record<string, unknown>) => sbrConfigSchema.safeParse({ name: 'n', cniVersion: '1.0.0', type: 'sbr', ...extra });
const issue = (extra: Record<string, unknown>) => {
  const r = parse(extra);
  expect(r.success, JSON.stringify(extra)).toBe(false);
  return r.error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
};

describe('sbr config', () => {
  it('takes the reference fields', () => {
    expect(parse({}).data).toMatchObject({ addSourceHints: false });
    expect(parse({ table: 500 }).data?.table).toBe(500);
    expect(parse({ table: null }).data?.table).toBeNull();
    expect(parse({ gateways: ['10.1.0.1', 'fd00::1'], addSourceHints: true }).success).toBe(true);
  });

  it('refuses what the kernel or the plugin cannot use, naming the field', () => {
    expect(issue({ table: 0 })).toMatch(/^table: table 0 is not a routing table/);
    expect(issue({ table: 2 ** 32 })).toMatch(/^table: /);
    expect(issue({ table: 1.5 })).toMatch(/^table: /);
    expect(issue({ table: '100' })).toMatch(/^table: /);
    expect(issue({ gateways: ['10.1.0.1', 'nope'] })).toBe('gateways.1: not an IP address');
    expect(issue({ gateways: ['10.1.0.1', '10.1.0.2'] })).toBe('gateways: at most one IPv4 gateway');
    expect(issue({ gateways: ['fd00::1', 'fd00::2'] })).toBe('gateways: at most one IPv6 gateway');
    expect(issue({ table: 100, gateways: ['10.1.0.1'] })).toBe('gateways: cannot be used with a fixed table');
    expect(issue({ table: 100, addSourceHints: true })).toBe('addSourceHints: cannot be used with a fixed table');
    expect(issue({ addSourceHints: 'yes' })).toMatch(/^addSourceHints: /);
  });
});

describe('sbr addresses', () => {
  const prev = {
    interfaces: [{ name: 'cni0' }, { name: 'eth0', sandbox: '/x' }, { name: 'net1', sandbox: '/x' }],
    ips: [
      { address: '10.1.0.5/24', gateway: '10.1.0.1', interface: 1 },
      { address: '10.2.0.5/24', interface: 2 },
      { address: 'fd00::5/64', gateway: 'fd00::1' },
      { address: '10.3.0.5/24', interface: 7 },
    ],
  };

  it("keeps the interface's addresses, those without an index and those whose index is out of range", () => {
    expect(interfaceIps(prev, 'eth0').map((i) => i.address)).toEqual(['10.1.0.5/24', 'fd00::5/64', '10.3.0.5/24']);
    expect(interfaceIps(prev, 'net1').map((i) => i.address)).toEqual(['10.2.0.5/24', 'fd00::5/64', '10.3.0.5/24']);
    expect(interfaceIps({}, 'eth0')).toEqual([]);
  });

  it("takes the configured gateway of the address's family, else prevResult's", () => {
    const ips = interfaceIps(prev, 'eth0');
    expect(sbrAddresses(ips)).toEqual([
      { address: '10.1.0.5/24', gateway: '10.1.0.1' },
      { address: 'fd00::5/64', gateway: 'fd00::1' },
      { address: '10.3.0.5/24' },
    ]);
    expect(sbrAddresses(ips, ['10.1.0.254'])).toEqual([
      { address: '10.1.0.5/24', gateway: '10.1.0.254' },
      { address: 'fd00::5/64', gateway: 'fd00::1' },
      { address: '10.3.0.5/24', gateway: '10.1.0.254' },
    ]);
  });
});
