// The CLI's argument and environment handling: cnitool's container ID, CNI_ARGS, CAP_ARGS, flags over env.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  cnitoolContainerId,
  parseArgsPairs,
  parseCapArgs,
  parseValidAttachments,
  runtimeConf,
  runtimeOptions,
} from '../../src/cli/invocation.js';
import { netnsPath, validateNetnsName } from '../../src/runtime/netns.js';
import { CniError } from '../../src/spec/errors.js';

/** Expect a CniError with this code whose message contains `text`. */
function expectCni(fn: () => unknown, code: number, text: string): void {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(CniError);
    expect((e as CniError).code).toBe(code);
    expect(`${(e as CniError).message} ${(e as CniError).details ?? ''}`).toContain(text);
    return;
  }
  throw new Error('expected a CniError');
}

describe('cnitool container ID', () => {
  it('is "cnitool-" + the first 20 hex chars of SHA-512 of the absolute path', () => {
    const path = '/var/run/netns/pod1';
    const expected = `cnitool-${createHash('sha512').update(path).digest('hex').slice(0, 20)}`;
    expect(cnitoolContainerId(path)).toBe(expected);
    expect(cnitoolContainerId(path)).toMatch(/^cnitool-[0-9a-f]{20}$/);
  });

  it('hashes the path made absolute, like filepath.Abs', () => {
    const abs = `${process.cwd()}/some/ns`;
    expect(cnitoolContainerId('some/ns')).toBe(cnitoolContainerId(abs));
  });

  it('matches a value cnitool produced for /var/run/netns/fcni-t-me-pod', () => {
    // Observed from cnitool v1.3.0's cache file name x-cnitool-1e759ffcf0f302f16ab3-eth0.
    expect(cnitoolContainerId('/var/run/netns/fcni-t-me-pod')).toBe('cnitool-1e759ffcf0f302f16ab3');
  });

  it('is what runtimeConf uses when --id is absent; a netns name expands to /var/run/netns/NAME', () => {
    const rt = runtimeConf('pod1', {}, {});
    expect(rt.netns).toBe('/var/run/netns/pod1');
    expect(rt.containerId).toBe(cnitoolContainerId('/var/run/netns/pod1'));
    expect(runtimeConf('/proc/1/ns/net', {}, {}).containerId).toBe(cnitoolContainerId('/proc/1/ns/net'));
  });
});

describe('CNI_ARGS', () => {
  it('parses ordered K=V pairs', () => {
    expect(parseArgsPairs('IgnoreUnknown=1;K8S_POD_NAME=web')).toEqual([
      ['IgnoreUnknown', '1'],
      ['K8S_POD_NAME', 'web'],
    ]);
    expect(parseArgsPairs('')).toEqual([]);
    expect(parseArgsPairs(undefined)).toEqual([]);
  });

  it('rejects pairs cnitool rejects: no "=", two "=", empty key or value, trailing ";"', () => {
    for (const bad of ['A', 'A=1=2', '=1', 'A=', 'A=1;']) expectCni(() => parseArgsPairs(bad), 4, 'invalid CNI_ARGS pair');
    expectCni(() => parseArgsPairs('x', '--args'), 4, 'invalid --args pair "x"');
  });

  it('--args wins over CNI_ARGS; CNI_ARGS is used otherwise', () => {
    expect(runtimeConf('p', {}, { CNI_ARGS: 'A=1' }).args).toEqual([['A', '1']]);
    expect(runtimeConf('p', { args: 'B=2' }, { CNI_ARGS: 'A=1' }).args).toEqual([['B', '2']]);
    expect(runtimeConf('p', {}, {}).args).toBeUndefined();
  });
});

describe('CAP_ARGS', () => {
  it('parses a JSON object', () => {
    expect(parseCapArgs('{"portMappings":[{"hostPort":8080,"containerPort":80,"protocol":"tcp"}]}')).toEqual({
      portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }],
    });
    expect(parseCapArgs('')).toBeUndefined();
    expect(parseCapArgs('null')).toBeUndefined();
  });

  it('rejects bad JSON and non-objects with code 4 naming the source', () => {
    expectCni(() => parseCapArgs('{', '--cap'), 4, 'invalid --cap: not JSON');
    expectCni(() => parseCapArgs('[1]'), 4, 'invalid CAP_ARGS: expected a JSON object');
    expectCni(() => parseCapArgs('"x"'), 4, 'expected a JSON object');
  });

  it('--cap wins over CAP_ARGS; a bad CAP_ARGS is ignored when --cap is given', () => {
    expect(runtimeConf('p', {}, { CAP_ARGS: '{"mac":"02:00:00:00:00:01"}' }).capabilityArgs).toEqual({ mac: '02:00:00:00:00:01' });
    expect(runtimeConf('p', { cap: '{"a":1}' }, { CAP_ARGS: '{' }).capabilityArgs).toEqual({ a: 1 });
    expectCni(() => runtimeConf('p', {}, { CAP_ARGS: '{' }), 4, 'invalid CAP_ARGS');
  });
});

describe('ifname and container ID', () => {
  it('--ifname > CNI_IFNAME > eth0', () => {
    expect(runtimeConf('p', {}, {}).ifname).toBe('eth0');
    expect(runtimeConf('p', {}, { CNI_IFNAME: 'net1' }).ifname).toBe('net1');
    expect(runtimeConf('p', { ifname: 'net2' }, { CNI_IFNAME: 'net1' }).ifname).toBe('net2');
  });

  it('rejects a 16-byte ifname (code 4) and one with "/"', () => {
    expectCni(() => runtimeConf('p', { ifname: 'a'.repeat(16) }, {}), 4, 'interface name is too long');
    expect(runtimeConf('p', { ifname: 'a'.repeat(15) }, {}).ifname).toBe('a'.repeat(15));
    expectCni(() => runtimeConf('p', { ifname: 'a/b' }, {}), 4, 'interface name contains');
  });

  it('rejects an invalid container ID (code 4) and an empty one (code 3)', () => {
    expectCni(() => runtimeConf('p', { id: 'bad id!' }, {}), 4, 'invalid characters in containerID');
    expectCni(() => runtimeConf('p', { id: '' }, {}), 3, 'missing containerID');
    expect(runtimeConf('p', { id: 'ctr-1.a_b' }, {}).containerId).toBe('ctr-1.a_b');
  });
});

describe('runtime options', () => {
  it('reads NETCONFPATH, CNI_PATH and FASTCNI_CACHE_DIR; flags win; defaults as cnitool', () => {
    expect(runtimeOptions({}, {})).toEqual({ confDir: '/etc/cni/net.d', cacheDir: '/var/lib/cni', pluginPath: ['/opt/cni/bin'] });
    const env = { NETCONFPATH: '/c', CNI_PATH: '/a::/b', FASTCNI_CACHE_DIR: '/k' };
    expect(runtimeOptions({}, env)).toEqual({ confDir: '/c', cacheDir: '/k', pluginPath: ['/a', '/b'] });
    expect(runtimeOptions({ confDir: '/c2', cacheDir: '/k2', timeout: '2.5' }, env)).toEqual({
      confDir: '/c2',
      cacheDir: '/k2',
      pluginPath: ['/a', '/b'],
      timeoutMs: 2500,
    });
    expectCni(() => runtimeOptions({ timeout: 'soon' }, {}), 4, 'invalid --timeout');
  });
});

describe('gc --valid', () => {
  it('parses ID/IFNAME and validates both halves', () => {
    expect(parseValidAttachments(undefined)).toBeUndefined();
    expect(parseValidAttachments(['ctr-1/eth0', 'cnitool-abc/net1'])).toEqual([
      { containerID: 'ctr-1', ifname: 'eth0' },
      { containerID: 'cnitool-abc', ifname: 'net1' },
    ]);
    expectCni(() => parseValidAttachments(['ctr-1']), 4, 'expected CONTAINERID/IFNAME');
    expectCni(() => parseValidAttachments(['ctr-1/']), 4, 'expected CONTAINERID/IFNAME');
    expectCni(() => parseValidAttachments(['bad id/eth0']), 4, 'invalid characters in containerID');
  });
});

describe('namespace names', () => {
  it('accepts one file name and rejects paths, "." and ".."', () => {
    expect(() => validateNetnsName('pod-1')).not.toThrow();
    for (const bad of ['', '.', '..', 'a/b', 'x'.repeat(256)]) expect(() => validateNetnsName(bad)).toThrow(CniError);
    expect(netnsPath('pod-1')).toBe('/var/run/netns/pod-1');
    expect(netnsPath('/proc/1/ns/net')).toBe('/proc/1/ns/net');
    expect(netnsPath('./rel/ns')).toBe(`${process.cwd()}/rel/ns`);
  });
});
