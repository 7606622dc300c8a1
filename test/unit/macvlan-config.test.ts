// The config rules of the macvlan, ipvlan and vlan plugins (defaults, refusals naming the field),
// macvlan's MAC precedence and ipvlan's chained master.
import { describe, expect, it } from 'vitest';
import { ipvlanConfigSchema, ipvlanMaster } from '../../plugins/ipvlan/config.js';
import { macvlanConfigSchema } from '../../plugins/macvlan/config.js';
import { vlanConfigSchema } from '../../plugins/vlan/config.js';
import { CniError } from '../../src/spec/errors.js';
import { sublinkMac } from '../../src/sublink/config.js';

type Schema = typeof macvlanConfigSchema | typeof ipvlanConfigSchema | typeof vlanConfigSchema;
const base = { name: 'n', cniVersion: '1.0.0' };
function issue(schema: Schema, extra: Record<string, unknown>): string {
  const r = schema.safeParse({ ...base, ...extra });
  expect(r.success, JSON.stringify(extra)).toBe(false);
  return r.error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') ?? '';
}

describe('macvlan config', () => {
  it("has the reference's defaults", () => {
    expect(macvlanConfigSchema.parse(base)).toMatchObject({ master: '', mode: 'bridge', mtu: 0, linkInContainer: false, bcqueuelen: 0 });
    expect(macvlanConfigSchema.parse({ ...base, mode: '' }).mode).toBe('bridge');
    for (const mode of ['bridge', 'private', 'vepa', 'passthru']) expect(macvlanConfigSchema.parse({ ...base, mode }).mode).toBe(mode);
  });

  it('refuses bad fields, naming them', () => {
    expect(issue(macvlanConfigSchema, { mode: 'source' })).toMatch(/^mode: unknown macvlan mode: "source"/);
    expect(issue(macvlanConfigSchema, { mtu: -1 })).toMatch(/^mtu: /);
    expect(issue(macvlanConfigSchema, { mac: '02:00:00:00:00' })).toBe('mac: invalid MAC address "02:00:00:00:00"');
    expect(issue(macvlanConfigSchema, { mac: '02:00-00:00:00:01' })).toBe('mac: invalid MAC address "02:00-00:00:00:01"');
    expect(issue(macvlanConfigSchema, { runtimeConfig: { mac: 'x' } })).toBe('runtimeConfig.mac: invalid MAC address "x"');
    expect(issue(macvlanConfigSchema, { bcqueuelen: 1.5 })).toMatch(/^bcqueuelen: /);
    expect(issue(macvlanConfigSchema, { master: 'a-name-longer-than-15' })).toMatch(/^master: /);
  });

  it('MAC: runtimeConfig over CNI_ARGS MAC over the config', () => {
    const args: Array<[string, string]> = [
      ['IgnoreUnknown', '1'],
      ['MAC', '02:00:00:00:00:02'],
    ];
    expect(sublinkMac({ mac: '02:00:00:00:00:01', runtimeMac: '02:00:00:00:00:03', args })).toBe('02:00:00:00:00:03');
    expect(sublinkMac({ mac: '02:00:00:00:00:01', args })).toBe('02:00:00:00:00:02');
    expect(sublinkMac({ mac: '02:00:00:00:00:01', args: [] })).toBe('02:00:00:00:00:01');
    expect(sublinkMac({ args: [] })).toBeUndefined();
  });
});

describe('ipvlan config', () => {
  it('modes l2 (default), l3, l3s; no other', () => {
    expect(ipvlanConfigSchema.parse(base).mode).toBe('l2');
    expect(ipvlanConfigSchema.parse({ ...base, mode: 'l3s' }).mode).toBe('l3s');
    expect(issue(ipvlanConfigSchema, { mode: 'bridge' })).toMatch(/^mode: unknown ipvlan mode: "bridge"/);
  });

  it("chained without master: prevResult's single named interface", () => {
    const conf = ipvlanConfigSchema.parse(base);
    expect(ipvlanMaster(conf, undefined)).toBe('');
    expect(ipvlanMaster(conf, { interfaces: [{ name: 'eth1' }] })).toBe('eth1');
    expect(ipvlanMaster({ ...conf, master: 'eth9' }, { interfaces: [{ name: 'eth1' }] })).toBe('eth9');
    expect(() => ipvlanMaster(conf, { interfaces: [{ name: 'a' }, { name: 'b' }] })).toThrow(CniError);
    expect(() => ipvlanMaster(conf, { interfaces: [] })).toThrow(/chained master failure/);
  });
});

describe('vlan config', () => {
  it('master required, vlanId 0–4094', () => {
    expect(vlanConfigSchema.parse({ ...base, master: 'eth0' })).toMatchObject({ vlanId: 0, mtu: 0 });
    expect(issue(vlanConfigSchema, {})).toMatch(/^master: "master" field is required/);
    expect(issue(vlanConfigSchema, { master: '' })).toMatch(/^master: "master" field is required/);
    expect(issue(vlanConfigSchema, { master: 'eth0', vlanId: 4095 })).toBe('vlanId: invalid VLAN ID (must be between 0 and 4094)');
    expect(issue(vlanConfigSchema, { master: 'eth0', vlanId: -1 })).toBe('vlanId: invalid VLAN ID (must be between 0 and 4094)');
    expect(vlanConfigSchema.parse({ ...base, master: 'eth0', vlanId: 4094 }).vlanId).toBe(4094);
  });
});
