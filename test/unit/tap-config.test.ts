// The tap, dummy and vrf plugins' configs: defaults, the tap's MAC precedence and checks, the
// refused selinuxContext, dummy's required IPAM and vrf's fields.
import { describe, expect, it } from 'vitest';
import { refuseSelinuxContext, tapConfigSchema, tapMac } from '../../plugins/tap/config.js';
import { dummyConfigSchema } from '../../plugins/dummy/index.js';
import { vrfConfigSchema } from '../../plugins/vrf/index.js';
import { parseWithSchema } from '../../src/spec/zod-errors.js';
import { CniError } from '../../src/spec/errors.js';

const common = { name: 'n', cniVersion: '1.0.0' };
const tap = (extra: Record<string, unknown> = {}) => parseWithSchema(tapConfigSchema, { ...common, type: 'tap', ...extra });
const codeOf = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(CniError);
    return `${(e as CniError).code} ${(e as CniError).message}`;
  }
  return 'no error';
};

describe('tap config', () => {
  it("has the reference's defaults and keeps other keys", () => {
    expect(tap()).toMatchObject({ mtu: 0, multiQueue: false, selinuxContext: '', bridge: '' });
    expect(tap({ Owner: 0, GROUP: 10, foo: 1 })).toMatchObject({ owner: 0, group: 10, foo: 1 });
  });

  it('refuses ids the kernel cannot take and MTUs past 65535, naming the field', () => {
    expect(codeOf(() => tap({ owner: 4294967295 }))).toMatch(/^7 owner: a uid is at most 4294967294/);
    expect(codeOf(() => tap({ group: -2 }))).toMatch(/^7 group: a gid is at least 0/);
    expect(codeOf(() => tap({ mtu: 65536 }))).toMatch(/^7 mtu: the largest MTU is 65535/);
    expect(codeOf(() => tap({ bridge: 'has space' }))).toMatch(/^7 bridge: not a valid interface name/);
  });

  it('takes the MAC from mac, then CNI_ARGS MAC, then runtimeConfig.mac, in canonical form', () => {
    const c = tap({ mac: '02-AA-00-00-00-01' });
    expect(tapMac(c, [])).toBe('02:aa:00:00:00:01');
    expect(tapMac(c, [['MAC', '02:00:00:00:00:02']])).toBe('02:00:00:00:00:02');
    expect(tapMac(tap({ mac: '02:aa:00:00:00:01', runtimeConfig: { mac: '02:00:00:00:00:03' } }), [['MAC', '02:00:00:00:00:02']])).toBe(
      '02:00:00:00:00:03',
    );
    expect(tapMac(tap(), [['IgnoreUnknown', '1']])).toBeUndefined();
  });

  it('refuses a MAC that is not a unicast Ethernet address, naming where it came from', () => {
    expect(codeOf(() => tapMac(tap({ mac: '02:00:00:00:00' }), []))).toBe('7 mac: invalid MAC address "02:00:00:00:00"');
    expect(codeOf(() => tapMac(tap(), [['MAC', '03:00:00:00:00:01']]))).toBe(
      '7 CNI_ARGS MAC: 03:00:00:00:00:01 is a multicast address, not one a link can have',
    );
  });

  it('refuses selinuxContext with code 2 and accepts its absence', () => {
    expect(codeOf(() => refuseSelinuxContext(tap({ selinuxContext: 'x' })))).toMatch(/^2 unsupported field selinuxContext: "x"/);
    expect(codeOf(() => refuseSelinuxContext(tap()))).toBe('no error');
  });
});

describe('dummy and vrf configs', () => {
  it('dummy needs an IPAM type', () => {
    expect(codeOf(() => parseWithSchema(dummyConfigSchema, { ...common, type: 'dummy' }))).toBe(
      '7 ipam: dummy interface requires an IPAM configuration',
    );
    expect(parseWithSchema(dummyConfigSchema, { ...common, type: 'dummy', ipam: { type: 'static' } }).ipam?.type).toBe('static');
  });

  it('vrf needs a name; the table defaults to 0 (pick one)', () => {
    expect(parseWithSchema(vrfConfigSchema, { ...common, type: 'vrf', VRFName: 'blue' })).toMatchObject({ vrfname: 'blue', table: 0 });
    expect(codeOf(() => parseWithSchema(vrfConfigSchema, { ...common, type: 'vrf', vrfname: '' }))).toBe(
      '7 vrfname: configuration is expected to have a valid vrf name',
    );
    expect(codeOf(() => parseWithSchema(vrfConfigSchema, { ...common, type: 'vrf', vrfname: 'v', table: 1.5 }))).toMatch(/^7 table: /);
  });
});
