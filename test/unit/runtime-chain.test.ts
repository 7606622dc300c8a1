// Chains with fake plugins: prevResult threading, capability injection, CHECK and DEL with the cache.
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseNetworkList } from '../../src/runtime/conf-parse.js';
import type { NetworkList } from '../../src/runtime/types.js';
import { calls, fakePlugin, fakeRuntime, onAdd, rejection, result100 } from '../helpers/runtime-fakes.js';

const netList = (plugins: unknown[], extra: Record<string, unknown> = {}): NetworkList =>
  parseNetworkList(Buffer.from(JSON.stringify({ cniVersion: '1.0.0', name: 'chain', plugins, ...extra })));
const rt = { containerId: 'c1', netns: '/var/run/netns/fake', ifname: 'eth0' };

describe('ADD chain', () => {
  it('threads each result as the next prevResult, in the version the plugin returned, as libcni marshals it', async () => {
    const { bin, runtime } = fakeRuntime();
    fakePlugin(bin, 'first', onAdd({ cniVersion: '0.4.0', ips: [{ version: '4', address: '10.0.0.2/24' }], unknownKey: 1 }));
    fakePlugin(bin, 'second', onAdd(result100('10.0.0.3/24')));
    fakePlugin(bin, 'third', onAdd({ cniVersion: '1.0.0', ips: [{ address: '10.0.0.4/24' }] }));
    const res = await runtime.addNetworkList(netList([{ type: 'first' }, { type: 'second', z: 1, a: 2 }, { type: 'third' }]), rt);
    expect(res).toEqual({ cniVersion: '1.0.0', ips: [{ address: '10.0.0.4/24' }] });
    const [a, b, c] = calls(bin);
    expect(a!.stdin).toEqual({ cniVersion: '1.0.0', name: 'chain', type: 'first' });
    expect(b!.stdin.prevResult).toEqual({ cniVersion: '0.4.0', ips: [{ version: '4', address: '10.0.0.2/24' }], dns: {} });
    expect(Object.keys(b!.stdin)).toEqual(['a', 'cniVersion', 'name', 'prevResult', 'type', 'z']);
    expect(c!.stdin.prevResult).toEqual(JSON.parse(JSON.stringify(result100('10.0.0.3/24'))));
  });

  it('injects capability args only for capabilities a plugin declares true, overwriting runtimeConfig', async () => {
    const { bin, runtime } = fakeRuntime();
    for (const n of ['pm', 'none', 'off']) fakePlugin(bin, n, onAdd(result100('10.0.0.2/24')));
    const list = netList([
      { type: 'pm', capabilities: { portMappings: true, mac: true }, runtimeConfig: { stale: 1 } },
      { type: 'none', runtimeConfig: { fromFile: true } },
      { type: 'off', capabilities: { portMappings: false } },
    ]);
    const portMappings = [{ hostPort: 80, containerPort: 8080, protocol: 'tcp' }];
    await runtime.addNetworkList(list, { ...rt, capabilityArgs: { portMappings, bandwidth: { x: 1 } } });
    const [pm, none, off] = calls(bin);
    expect(pm!.stdin.runtimeConfig).toEqual({ portMappings });
    expect(none!.stdin.runtimeConfig).toEqual({ fromFile: true });
    expect(off!.stdin).not.toHaveProperty('runtimeConfig');
    expect(pm!.stdin.capabilities).toEqual({ portMappings: true, mac: true });
  });

  it('a failure aborts the chain with the plugin named, and writes no cache', async () => {
    const { bin, cache, runtime } = fakeRuntime();
    fakePlugin(bin, 'ok', onAdd(result100('10.0.0.2/24')));
    fakePlugin(bin, 'bad', `echo '{"code":7,"msg":"bad config"}'; exit 1`);
    fakePlugin(bin, 'never', onAdd(result100('10.0.0.2/24')));
    const err = await rejection(runtime.addNetworkList(netList([{ type: 'ok' }, { type: 'bad', name: 'b' }, { type: 'never' }]), rt));
    expect([err.code, err.message]).toEqual([7, 'plugin type="bad" name="b" failed (add): bad config']);
    expect(calls(bin).map((c) => c.plugin)).toEqual(['ok', 'bad']);
    expect(existsSync(join(cache, 'results', 'chain-c1-eth0'))).toBe(false);
  });
});

describe('cache, CHECK and DEL', () => {
  it('writes the cache 0600 in a 0700 dir, atomically; CHECK in order and DEL in reverse with the cached result', async () => {
    const { bin, cache, runtime } = fakeRuntime();
    fakePlugin(bin, 'a', onAdd(result100('10.0.0.2/24')));
    fakePlugin(bin, 'b', onAdd({ cniVersion: '0.4.0', ips: [{ version: '4', address: '10.0.0.5/24' }] }));
    const list = netList([{ type: 'a' }, { type: 'b' }]);
    await runtime.addNetworkList(list, { ...rt, args: [['K', 'V']] });
    const file = join(cache, 'results', 'chain-c1-eth0');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(join(cache, 'results')).mode & 0o777).toBe(0o700);
    expect(readdirSync(join(cache, 'results'))).toEqual(['chain-c1-eth0']);
    expect(JSON.parse(readFileSync(file, 'utf8')).result).toEqual({
      cniVersion: '0.4.0',
      ips: [{ address: '10.0.0.5/24', version: '4' }],
      dns: {},
    });

    await runtime.checkNetworkList(list, rt);
    await runtime.delNetworkList(list, rt);
    const log = calls(bin).slice(2);
    expect(log.map((c) => `${c.cmd} ${c.plugin}`)).toEqual(['CHECK a', 'CHECK b', 'DEL b', 'DEL a']);
    // the cached 0.4.0 result converted to the list's 1.0.0, the same for every plugin
    const expected = { cniVersion: '1.0.0', ips: [{ address: '10.0.0.5/24' }] };
    for (const c of log) expect(c.stdin.prevResult).toEqual(expected);
    expect(existsSync(file)).toBe(false);
  });

  it('CHECK: refused below 0.4.0, skipped with disableCheck', async () => {
    const { bin, runtime } = fakeRuntime();
    fakePlugin(bin, 'a', onAdd(result100('10.0.0.2/24')));
    const old = parseNetworkList(Buffer.from(JSON.stringify({ cniVersion: '0.3.1', name: 'old', plugins: [{ type: 'a' }] })));
    expect((await rejection(runtime.checkNetworkList(old, rt))).message).toBe(
      'configuration version "0.3.1" does not support the CHECK command',
    );
    await runtime.checkNetworkList(netList([{ type: 'a' }], { disableCheck: 'true' }), rt);
    expect(calls(bin)).toEqual([]);
  });

  it('DEL with a corrupt cache deletes it and goes on without prevResult; a failed DEL keeps a good cache', async () => {
    const { bin, cache, runtime } = fakeRuntime();
    fakePlugin(bin, 'a', onAdd(result100('10.0.0.2/24')));
    const list = netList([{ type: 'a' }]);
    await runtime.addNetworkList(list, rt);
    const file = join(cache, 'results', 'chain-c1-eth0');
    writeFileSync(file, '{"kind":"cniCacheV1","result":{"cniVersion":"1.0.0","ips":[{"address":"nonsense"}]}}');
    await runtime.delNetworkList(list, rt);
    expect(calls(bin).at(-1)!.stdin).not.toHaveProperty('prevResult');
    expect(existsSync(file)).toBe(false);

    await runtime.addNetworkList(list, rt);
    fakePlugin(bin, 'a', `[ "$CNI_COMMAND" = DEL ] && { echo '{"code":11,"msg":"later"}'; exit 1; }\nexit 0`);
    const err = await rejection(runtime.delNetworkList(list, rt));
    expect([err.code, err.message]).toEqual([11, 'plugin type="a" failed (delete): later']);
    expect(existsSync(file)).toBe(true);
  });

  it('reads a legacy cache (raw result) for DEL; lists only cniCacheV1 attachments', async () => {
    const { bin, cache, runtime } = fakeRuntime();
    fakePlugin(bin, 'a', 'exit 0');
    const list = netList([{ type: 'a' }]);
    const { mkdirSync } = await import('node:fs');
    mkdirSync(join(cache, 'results'), { recursive: true });
    writeFileSync(
      join(cache, 'results', 'chain-c1-eth0'),
      JSON.stringify({ cniVersion: '0.4.0', ips: [{ version: '4', address: '10.1.0.2/16' }] }),
    );
    expect(await runtime.getCachedAttachments()).toEqual([]);
    await runtime.delNetworkList(list, rt);
    expect(calls(bin)[0]!.stdin.prevResult).toEqual({ cniVersion: '1.0.0', ips: [{ address: '10.1.0.2/16' }] });
  });
});
