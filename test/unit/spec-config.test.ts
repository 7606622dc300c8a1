import { describe, expect, test } from 'vitest';
import { z } from 'zod';
import { canonicalizeKeys } from '../../src/spec/case-keys.js';
import { confListSchema, selectListVersion } from '../../src/spec/conflist.js';
import { netConfSchema, configVersion } from '../../src/spec/net-conf.js';
import { parseWithSchema } from '../../src/spec/zod-errors.js';
import { cidrString } from '../../src/spec/fields.js';
import { parseCniArgs } from '../../src/spec/cni-args.js';
import { validateContainerId, validateInterfaceName, validateNetworkName } from '../../src/spec/validate-names.js';
import { CniError } from '../../src/spec/errors.js';

function caught(fn: () => unknown): { code: number; msg: string; details?: string } {
  try {
    fn();
  } catch (e) {
    if (e instanceof CniError) return e.toJSON();
    throw e;
  }
  throw new Error('did not throw');
}

describe('network config', () => {
  test('keys match case-insensitively, nested too; unknown keys kept', () => {
    const c = parseWithSchema(netConfSchema, {
      CNIVERSION: '1.0.0',
      Name: 'net',
      TYPE: 'bridge',
      IPAM: { Type: 'host-local', Subnet: 'x' },
      Bridge: 'br0',
    });
    expect(c).toEqual({ cniVersion: '1.0.0', name: 'net', type: 'bridge', ipam: { type: 'host-local', Subnet: 'x' }, Bridge: 'br0' });
  });
  test('exact key wins over a case variant only by position (later wins, like Go)', () => {
    expect(canonicalizeKeys({ name: 'a', NAME: 'b' }, netConfSchema)).toEqual({ name: 'b' });
  });
  test('missing cniVersion means 0.1.0', () => {
    expect(configVersion(parseWithSchema(netConfSchema, { name: 'n', type: 't' }))).toBe('0.1.0');
  });
  test('type is required and not empty: code 7 naming the field', () => {
    expect(caught(() => parseWithSchema(netConfSchema, { name: 'n' }))).toEqual({ code: 7, msg: 'type: required field is missing' });
    expect(caught(() => parseWithSchema(netConfSchema, { name: 'n', type: '' }))).toEqual({ code: 7, msg: 'type: must not be empty' });
    expect(caught(() => parseWithSchema(netConfSchema, { name: 'n', type: 7 })).msg).toMatch(/^type: .*expected string/);
  });
  test('plugin schemas get the helper too, with field paths in errors', () => {
    const schema = netConfSchema.extend({ ipam: z.object({ ranges: z.array(z.array(z.object({ subnet: cidrString }))) }) });
    const e = caught(() => parseWithSchema(schema, { name: 'n', type: 't', ipam: { RANGES: [[{ SUBNET: '10.0.0.0/33' }]] } }));
    expect(e).toEqual({ code: 7, msg: 'ipam.ranges[0][0].subnet: invalid CIDR "10.0.0.0/33"' });
  });
  test('strict schemas report an unknown field as code 2 naming key and value', () => {
    const e = caught(() => parseWithSchema(z.object({ name: z.string() }).strict(), { name: 'n', hairpin: true }));
    expect(e).toEqual({ code: 2, msg: 'unsupported field hairpin: true' });
  });
  test('type errors are code 7 with the path', () => {
    expect(caught(() => parseWithSchema(netConfSchema, { name: 'n', type: 't', dns: { nameservers: 'x' } })).msg).toMatch(
      /^dns\.nameservers: /,
    );
  });
});

describe('conflist', () => {
  test('string booleans in any case', () => {
    const l = confListSchema.parse({
      name: 'l',
      disableCheck: 'TRUE',
      disableGC: 'false',
      loadOnlyInlinedPlugins: true,
      plugins: [{ type: 'bridge' }],
    });
    expect([l.disableCheck, l.disableGC, l.loadOnlyInlinedPlugins]).toEqual([true, false, true]);
  });
  test('a bad string boolean is rejected', () => {
    expect(caught(() => parseWithSchema(confListSchema, { name: 'l', disableCheck: 'yes' })).msg).toBe(
      'disableCheck: invalid boolean value "yes"',
    );
  });
  test('plugin entries need a type; loadOnlyInlinedPlugins needs plugins', () => {
    expect(caught(() => parseWithSchema(confListSchema, { name: 'l', plugins: [{}] })).code).toBe(7);
    expect(caught(() => parseWithSchema(confListSchema, { name: 'l', loadOnlyInlinedPlugins: 'true' })).msg).toBe(
      'plugins: loadOnlyInlinedPlugins is true but no plugins are listed',
    );
  });
  test('cniVersions: highest not newer than 1.1.0', () => {
    expect(selectListVersion({ cniVersion: '0.4.0', cniVersions: ['1.0.0', '2.0.0'] })).toBe('1.0.0');
    expect(selectListVersion({ cniVersion: '1.1.0', cniVersions: ['0.3.1'] })).toBe('1.1.0');
  });
});

describe('CNI_ARGS', () => {
  test('known keys', () => {
    expect(parseCniArgs('IP=10.0.0.5;K8S_POD_NAME=p', ['IP', 'K8S_POD_NAME'])).toEqual({ IP: '10.0.0.5', K8S_POD_NAME: 'p' });
  });
  test('unknown keys fail unless IgnoreUnknown', () => {
    expect(caught(() => parseCniArgs('FOO=1;BAR=2', ['IP']))).toEqual({ code: 4, msg: 'ARGS: unknown args ["FOO=1" "BAR=2"]' });
    expect(parseCniArgs('FOO=1;IgnoreUnknown=1;IP=1.2.3.4', ['IP'])).toEqual({ IP: '1.2.3.4' });
    expect(parseCniArgs('IgnoreUnknown=TRUE;FOO=1', [])).toEqual({});
  });
  test('keys are case-sensitive', () => {
    expect(caught(() => parseCniArgs('ip=1.2.3.4', ['IP'])).msg).toBe('ARGS: unknown args ["ip=1.2.3.4"]');
  });
  test('pairs need exactly one =', () => {
    expect(caught(() => parseCniArgs('IP=1;', ['IP'])).msg).toBe('ARGS: invalid pair ""');
    expect(caught(() => parseCniArgs('A=b=c', ['A'])).msg).toBe('ARGS: invalid pair "A=b=c"');
  });
  test('bad IgnoreUnknown value', () => {
    expect(caught(() => parseCniArgs('IgnoreUnknown=yes', [])).msg).toBe(
      'ARGS: error parsing value of pair "IgnoreUnknown=yes": boolean unmarshal error: invalid input yes)',
    );
  });
  test('empty is nothing', () => expect(parseCniArgs('', ['IP'])).toEqual({}));
});

describe('validators', () => {
  test('container ID', () => {
    expect(caught(() => validateContainerId(''))).toEqual({ code: 3, msg: 'missing containerID' });
    expect(caught(() => validateContainerId('-abc'))).toEqual({ code: 4, msg: 'invalid characters in containerID', details: '-abc' });
    expect(() => validateContainerId('a1_b.c-d')).not.toThrow();
  });
  test('network name', () => {
    expect(caught(() => validateNetworkName('a/b'))).toEqual({ code: 7, msg: 'invalid characters found in network name', details: 'a/b' });
    expect(() => validateNetworkName('my-net.1')).not.toThrow();
  });
  test('interface name', () => {
    expect(caught(() => validateInterfaceName(''))).toEqual({ code: 4, msg: 'interface name is empty' });
    expect(caught(() => validateInterfaceName('a'.repeat(16)))).toEqual({
      code: 4,
      msg: 'interface name is too long',
      details: 'interface name should be less than 16 characters',
    });
    expect(() => validateInterfaceName('a'.repeat(15))).not.toThrow();
    expect(caught(() => validateInterfaceName('..')).msg).toBe('interface name is . or ..');
    for (const bad of ['a/b', 'a:b', 'a b', 'a\tb']) {
      expect(caught(() => validateInterfaceName(bad)).msg).toBe('interface name contains / or : or whitespace characters');
    }
  });
});
