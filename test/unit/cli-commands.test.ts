// The CLI's commands as plain functions, against a fake runtime: validation order, cleanup after a
// failed ADD, plugin lookup before ADD, gc over every network, list, and the output formatting.
import { mkdirSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { addCommand, checkCommand, delCommand, gcCommand, listCommand, statusCommand, type RuntimeApi } from '../../src/cli/commands.js';
import { addJson, addText, errorLine, listText, table } from '../../src/cli/format.js';
import { cnitoolContainerId } from '../../src/cli/invocation.js';
import type { CachedAttachment, NetworkList, RuntimeOptions } from '../../src/runtime/types.js';
import { CniError } from '../../src/spec/errors.js';
import { tempDir } from '../helpers/fixtures.js';

function list(
  name: string,
  plugins: NetworkList['plugins'] = [{ type: 'bridge', ipam: { type: 'host-local' } }],
  cniVersion = '1.0.0',
): NetworkList {
  return {
    name,
    cniVersion,
    disableCheck: false,
    disableGC: false,
    loadOnlyInlinedPlugins: false,
    plugins,
    bytes: Buffer.from('{}'),
    source: `/c/${name}.conflist`,
  };
}

const RESULT = {
  cniVersion: '1.0.0',
  interfaces: [
    { name: 'br0', mac: '02:00:00:00:00:01' },
    { name: 'veth1', mac: '02:00:00:00:00:02' },
    { name: 'eth0', mac: '02:00:00:00:00:03', sandbox: '/var/run/netns/p' },
  ],
  ips: [{ interface: 2, address: '10.1.0.2/24', gateway: '10.1.0.1' }],
  routes: [{ dst: '0.0.0.0/0' }],
  dns: {},
};

interface Fake extends RuntimeApi {
  calls: string[];
  options?: RuntimeOptions;
}

function fakeRuntime(o: { lists?: NetworkList[]; addFails?: Error; cached?: CachedAttachment[]; delFails?: Error } = {}): {
  fake: Fake;
  make: (opts: RuntimeOptions) => Fake;
} {
  const lists = o.lists ?? [list('net1')];
  const fake: Fake = {
    calls: [],
    async loadNetworkList(name) {
      fake.calls.push(`load ${name}`);
      const l = lists.find((x) => x.name === name);
      if (!l) throw new CniError(7, `no net configuration with name "${name}" in /c`);
      return l;
    },
    async listNetworks() {
      return { networks: lists, errors: [{ file: '/c/20-bad.conflist', error: new Error('unexpected end of JSON input') }] };
    },
    async addNetworkList(l, rt) {
      fake.calls.push(`add ${l.name} ${rt.containerId} ${rt.ifname}`);
      if (o.addFails) throw o.addFails;
      return RESULT;
    },
    async checkNetworkList(l, rt) {
      fake.calls.push(`check ${l.name} ${rt.containerId}`);
    },
    async delNetworkList(l, rt) {
      fake.calls.push(`del ${l.name} ${rt.containerId} ${rt.ifname}`);
      if (o.delFails) throw o.delFails;
    },
    async gcNetworkList(l, valid) {
      fake.calls.push(`gc ${l.name} ${JSON.stringify(valid)}`);
      if (l.name === 'broken') throw new CniError(11, 'busy');
    },
    async statusNetworkList(l) {
      fake.calls.push(`status ${l.name}`);
      if (l.name === 'down') throw new CniError(50, 'plugin type="bridge" failed (status): not ready');
    },
    async getCachedAttachments(id) {
      fake.calls.push(`cached ${id ?? '*'}`);
      return (o.cached ?? []).filter((a) => id === undefined || a.containerId === id);
    },
  };
  return {
    fake,
    make: (opts) => {
      fake.options = opts;
      return fake;
    },
  };
}

/** A CNI_PATH directory holding (empty) files named after the given plugin types. */
function binDir(...types: string[]): string {
  const dir = tempDir('cli-bin');
  mkdirSync(dir, { recursive: true });
  for (const t of types) writeFileSync(`${dir}/${t}`, '#!/bin/sh\n', { mode: 0o755 });
  return dir;
}

async function rejection(p: Promise<unknown>): Promise<CniError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(CniError);
    return e as CniError;
  }
  throw new Error('expected a rejection');
}

/** An existing path to stand for the pod's namespace (add only checks that it exists). */
const NETNS = '/proc/self/ns/net';

describe('add', () => {
  it('passes the runtime conf and the env/flag options to the runtime and returns the result', async () => {
    const { fake, make } = fakeRuntime();
    const env = { CNI_PATH: binDir('bridge', 'host-local'), NETCONFPATH: '/c', CNI_ARGS: 'A=1' };
    const out = await addCommand('net1', NETNS, { cacheDir: '/k', cap: '{"mac":"02:00:00:00:00:09"}' }, { env, runtime: make });
    expect(out.conf).toEqual({
      containerId: cnitoolContainerId(NETNS),
      netns: NETNS,
      ifname: 'eth0',
      args: [['A', '1']],
      capabilityArgs: { mac: '02:00:00:00:00:09' },
    });
    expect(out.cniVersion).toBe('1.0.0');
    expect(out.result).toBe(RESULT);
    expect(fake.options).toMatchObject({ confDir: '/c', cacheDir: '/k', pluginPath: [env.CNI_PATH], env });
    expect(fake.calls).toEqual(['load net1', `cached ${out.conf.containerId}`, `add net1 ${out.conf.containerId} eth0`]);
  });

  it('rejects bad input before making the runtime or running anything', async () => {
    const { fake, make } = fakeRuntime();
    const ctx = { env: { CNI_PATH: binDir('bridge', 'host-local') }, runtime: make };
    expect((await rejection(addCommand('net1', NETNS, { cap: '{' }, ctx))).code).toBe(4);
    expect((await rejection(addCommand('net1', NETNS, { ifname: 'x'.repeat(16) }, ctx))).code).toBe(4);
    expect((await rejection(addCommand('net1', NETNS, { id: 'a b' }, ctx))).code).toBe(4);
    expect((await rejection(addCommand('net1', NETNS, { args: 'novalue' }, ctx))).code).toBe(4);
    expect(fake.calls).toEqual([]);
  });

  it('reports an unknown network with the runtime error and runs nothing', async () => {
    const { fake, make } = fakeRuntime();
    const err = await rejection(addCommand('nope', NETNS, {}, { env: { CNI_PATH: binDir('bridge') }, runtime: make }));
    expect(err.message).toBe('no net configuration with name "nope" in /c');
    expect(fake.calls).toEqual(['load nope']);
  });

  it('fails before ADD when a plugin or IPAM binary is missing from CNI_PATH', async () => {
    const { fake, make } = fakeRuntime({ lists: [list('net1', [{ type: 'bridge', ipam: { type: 'host-local' } }, { type: 'portmap' }])] });
    const dir = binDir('bridge', 'host-local');
    const err = await rejection(addCommand('net1', NETNS, {}, { env: { CNI_PATH: dir }, runtime: make }));
    expect(err.code).toBe(999);
    expect(err.message).toBe(`failed to find plugin "portmap" in path [${dir}]`);
    const err2 = await rejection(addCommand('net1', NETNS, {}, { env: { CNI_PATH: binDir('bridge', 'portmap') }, runtime: make }));
    expect(err2.message).toContain('failed to find plugin "host-local"');
    expect(fake.calls.filter((c) => c.startsWith('add'))).toEqual([]);
  });

  it('fails when the namespace does not exist', async () => {
    const { fake, make } = fakeRuntime();
    const err = await rejection(
      addCommand('net1', 'fcni-t-no-such-ns', {}, { env: { CNI_PATH: binDir('bridge', 'host-local') }, runtime: make }),
    );
    expect(err.message).toBe('network namespace /var/run/netns/fcni-t-no-such-ns does not exist');
    expect(fake.calls.filter((c) => c.startsWith('add'))).toEqual([]);
  });

  it('deletes the attachment again after a failed ADD and rethrows the ADD error', async () => {
    const { fake, make } = fakeRuntime({ addFails: new CniError(7, 'plugin type="bridge" failed (add): boom') });
    const err = await rejection(
      addCommand('net1', NETNS, { id: 'ctr1' }, { env: { CNI_PATH: binDir('bridge', 'host-local') }, runtime: make }),
    );
    expect(err.message).toBe('plugin type="bridge" failed (add): boom');
    expect(err.code).toBe(7);
    expect(fake.calls).toEqual(['load net1', 'cached ctr1', 'add net1 ctr1 eth0', 'del net1 ctr1 eth0']);
  });

  it('names a failed cleanup in the details', async () => {
    const { make } = fakeRuntime({ addFails: new CniError(7, 'add broke'), delFails: new Error('del broke') });
    const err = await rejection(
      addCommand('net1', NETNS, { id: 'ctr1' }, { env: { CNI_PATH: binDir('bridge', 'host-local') }, runtime: make }),
    );
    expect(err.message).toBe('add broke');
    expect(err.details).toBe('cleanup DEL also failed: del broke');
  });

  it('never undoes an attachment that was already cached (a repeated ADD)', async () => {
    const cached: CachedAttachment = { containerId: 'ctr1', ifname: 'eth0', networkName: 'net1', config: Buffer.from('{}') };
    const { fake, make } = fakeRuntime({ addFails: new CniError(999, 'exists'), cached: [cached] });
    await rejection(addCommand('net1', NETNS, { id: 'ctr1' }, { env: { CNI_PATH: binDir('bridge', 'host-local') }, runtime: make }));
    expect(fake.calls.filter((c) => c.startsWith('del'))).toEqual([]);
  });
});

describe('check, del, status', () => {
  it('check and del pass the same synthesised ID; del needs no namespace', async () => {
    const { fake, make } = fakeRuntime();
    const ctx = { env: { CNI_IFNAME: 'net9' }, runtime: make };
    const c = await checkCommand('net1', 'gone-ns', {}, ctx);
    const d = await delCommand('net1', 'gone-ns', {}, ctx);
    const id = cnitoolContainerId('/var/run/netns/gone-ns');
    expect(c.conf.containerId).toBe(id);
    expect(d.conf.ifname).toBe('net9');
    expect(fake.calls).toEqual(['load net1', `check net1 ${id}`, 'load net1', `del net1 ${id} net9`]);
  });

  it('status passes the first plugin error through with its code', async () => {
    const { make } = fakeRuntime({ lists: [list('up'), list('down')] });
    expect(await statusCommand('up', {}, { env: {}, runtime: make })).toEqual({ network: 'up', cniVersion: '1.0.0' });
    const err = await rejection(statusCommand('down', {}, { env: {}, runtime: make }));
    expect(err.code).toBe(50);
    expect((await rejection(statusCommand('bad name', {}, { env: {}, runtime: make }))).code).toBe(7);
  });
});

describe('gc', () => {
  it('without networks collects every network; errors are per network; --valid is parsed', async () => {
    const { fake, make } = fakeRuntime({ lists: [list('a'), list('broken'), list('c')] });
    const out = await gcCommand([], { valid: ['ctr1/eth0'] }, { env: {}, runtime: make });
    expect(out.map((r) => [r.network, r.error?.code])).toEqual([
      ['a', undefined],
      ['broken', 11],
      ['c', undefined],
    ]);
    expect(fake.calls).toContain('gc a [{"containerID":"ctr1","ifname":"eth0"}]');
  });

  it('named networks only; no --valid means nil valid attachments, like cnitool gc', async () => {
    const { fake, make } = fakeRuntime({ lists: [list('a'), list('c')] });
    await gcCommand(['c'], {}, { env: {}, runtime: make });
    expect(fake.calls).toEqual(['load c', 'gc c undefined']);
    expect((await rejection(gcCommand(['zzz'], {}, { env: {}, runtime: make }))).message).toContain('no net configuration');
  });
});

describe('list and output', () => {
  it('lists networks, malformed files and cached attachments', async () => {
    const cached: CachedAttachment = {
      containerId: 'ctr1',
      ifname: 'eth0',
      networkName: 'net1',
      netns: '/var/run/netns/p',
      config: Buffer.from('{}'),
      result: RESULT,
    };
    const { make } = fakeRuntime({ cached: [cached] });
    const out = await listCommand({ confDir: '/c', cacheDir: '/k' }, { env: {}, runtime: make });
    expect(out).toEqual({
      confDir: '/c',
      cacheDir: '/k',
      networks: [{ name: 'net1', cniVersion: '1.0.0', plugins: ['bridge'], file: '/c/net1.conflist' }],
      malformed: [{ file: '/c/20-bad.conflist', error: 'unexpected end of JSON input' }],
      attachments: [{ network: 'net1', containerId: 'ctr1', ifname: 'eth0', netns: '/var/run/netns/p', addresses: ['10.1.0.2/24'] }],
    });
    const text = listText(out);
    expect(text).toContain('  net1  1.0.0    bridge   /c/net1.conflist');
    expect(text).toContain('/c/20-bad.conflist: unexpected end of JSON input');
    expect(text).toContain('10.1.0.2/24');
  });

  it('prints a 1.x ADD result as cnitool does: sorted keys, empty dns dropped, 4 spaces, no newline', () => {
    const text = addJson({ network: 'net1', cniVersion: '1.0.0', conf: { containerId: 'c', netns: '/n', ifname: 'eth0' }, result: RESULT });
    expect(text).toBe(
      JSON.stringify(
        {
          cniVersion: '1.0.0',
          interfaces: [
            { mac: '02:00:00:00:00:01', name: 'br0' },
            { mac: '02:00:00:00:00:02', name: 'veth1' },
            { mac: '02:00:00:00:00:03', name: 'eth0', sandbox: '/var/run/netns/p' },
          ],
          ips: [{ address: '10.1.0.2/24', gateway: '10.1.0.1', interface: 2 }],
          routes: [{ dst: '0.0.0.0/0' }],
        },
        null,
        4,
      ),
    );
  });

  it('prints a 0.x result as the runtime returned it (Go struct order)', () => {
    const r040 = {
      cniVersion: '0.4.0',
      interfaces: [{ name: 'eth0', mac: '02:00:00:00:00:03' }],
      ips: [{ version: '4', interface: 0, address: '10.1.0.2/24' }],
      dns: {},
    };
    expect(addJson({ network: 'n', cniVersion: '0.4.0', conf: { containerId: 'c', netns: '/n', ifname: 'eth0' }, result: r040 })).toBe(
      JSON.stringify(r040, null, 4),
    );
  });

  it('shows interfaces, addresses and routes as tables', () => {
    const text = addText({
      network: 'net1',
      cniVersion: '1.0.0',
      conf: { containerId: 'ctr1', netns: '/var/run/netns/p', ifname: 'eth0' },
      result: RESULT,
    });
    expect(text.split('\n')).toEqual([
      'added net1 to /var/run/netns/p (container ctr1, ifname eth0, cniVersion 1.0.0)',
      'interfaces:',
      '  NAME   MAC                SANDBOX',
      '  br0    02:00:00:00:00:01',
      '  veth1  02:00:00:00:00:02',
      '  eth0   02:00:00:00:00:03  /var/run/netns/p',
      'addresses:',
      '  ADDRESS      GATEWAY   INTERFACE',
      '  10.1.0.2/24  10.1.0.1  eth0',
      'routes:',
      '  DESTINATION  GATEWAY',
      '  0.0.0.0/0    (default gateway)',
    ]);
  });

  it('formats errors as one line with the CNI code', () => {
    expect(errorLine(new CniError(4, 'invalid --cap: not JSON: Unexpected end'))).toBe(
      'error: invalid --cap: not JSON: Unexpected end (CNI code 4)',
    );
    expect(errorLine(new CniError(4, 'interface name is too long', 'should be short'))).toBe(
      'error: interface name is too long: should be short (CNI code 4)',
    );
    expect(errorLine(new Error('multi\n  line'))).toBe('error: multi line (CNI code 999)');
    expect(table(['A', 'B'], [['xx', 'y']])).toBe('  A   B\n  xx  y');
  });
});
