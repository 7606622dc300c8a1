// The ptp plugin's pure decisions: its config rules and each address's gateway.
import { describe, expect, it } from 'vitest';
import { ptpConfigSchema } from '../../plugins/ptp/config.js';
import { gatewayHops } from '../../plugins/ptp/plan.js';
import { CniError } from '../../src/spec/errors.js';

const ipam = { type: 'host-local', subnet: '10.1.0.0/24' };
const parse = (extra: Record<string, unknown>) =>
  ptpConfigSchema.safeParse({ name: 'n', cniVersion: '1.0.0', type: 'ptp', ipam, ...extra });
const issue = (extra: Record<string, unknown>) => {
  const r = parse(extra);
  expect(r.success, JSON.stringify(extra)).toBe(false);
  return r.error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
};

describe('ptp config', () => {
  it("takes the reference's fields and defaults", () => {
    expect(parse({}).data).toMatchObject({ ipMasq: false, mtu: 0, ipam });
    expect(parse({ ipMasq: true, mtu: 1400, ipMasqBackend: 'nftables' }).data).toMatchObject({ ipMasq: true, mtu: 1400 });
    expect(parse({ ipMasqBackend: 'iptables' }).success).toBe(true);
    expect(parse({ dns: { nameservers: ['10.1.0.53'] } }).data?.dns).toEqual({ nameservers: ['10.1.0.53'] });
  });

  it('refuses what it cannot use, naming the field', () => {
    expect(issue({ ipam: undefined })).toBe('ipam: required: ptp needs an IPAM plugin');
    expect(issue({ ipam: {} })).toMatch(/^ipam\.type: /);
    expect(issue({ ipam: { type: '' } })).toBe('ipam.type: the IPAM plugin type is required');
    expect(issue({ mtu: -1 })).toMatch(/^mtu: /);
    expect(issue({ mtu: 65536 })).toMatch(/^mtu: /);
    expect(issue({ mtu: 67 })).toBe('mtu: must be 0 (the kernel default) or 68 to 65535');
    expect(parse({ mtu: 68 }).success).toBe(true);
    expect(issue({ mtu: 'big' })).toMatch(/^mtu: /);
    expect(issue({ ipMasq: 'yes' })).toMatch(/^ipMasq: /);
    expect(issue({ ipMasqBackend: 'pf' })).toMatch(/^ipMasqBackend: /);
  });
});

describe('ptp gateways', () => {
  it('pairs each address with its gateway', () => {
    expect(
      gatewayHops([
        { address: '10.1.0.5/24', gateway: '10.1.0.1', interface: 1 },
        { address: 'fd00::5/64', gateway: 'fd00::1', interface: 1 },
      ]),
    ).toEqual([
      { address: '10.1.0.5/24', gateway: '10.1.0.1' },
      { address: 'fd00::5/64', gateway: 'fd00::1' },
    ]);
  });

  it('refuses an address without a gateway with code 7 naming the field', () => {
    const refused = (ips: Array<{ address: string; gateway?: string }>) => {
      try {
        gatewayHops(ips);
      } catch (e) {
        expect(e).toBeInstanceOf(CniError);
        return `${(e as CniError).code} ${(e as CniError).message}`;
      }
      throw new Error('accepted');
    };
    expect(refused([{ address: '10.1.0.5/24', gateway: '10.1.0.1' }, { address: '10.2.0.5/24' }])).toMatch(
      /^7 IPAM result ips\[1\]\.gateway: missing/,
    );
  });
});
