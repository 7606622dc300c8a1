// GC and STATUS as libcni runs them, with fake plugins recording their stdin; GC's exclusion of ADD/DEL.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CniRuntime } from '../../src/runtime/cni-runtime.js';
import { parseNetworkList } from '../../src/runtime/conf-parse.js';
import type { NetworkList } from '../../src/runtime/types.js';
import { calls, fakePlugin, fakeRuntime, onAdd, rejection, result100 } from '../helpers/runtime-fakes.js';

const netList = (plugins: unknown[], cniVersion = '1.1.0', extra: Record<string, unknown> = {}, name = 'gcnet'): NetworkList =>
  parseNetworkList(Buffer.from(JSON.stringify({ cniVersion, name, plugins, ...extra })));
const att = (id: string) => ({ containerId: id, netns: `/var/run/netns/${id}`, ifname: 'eth0' });

describe('GC', () => {
  it('DELs stale cached attachments of this network with their cached args, then GC to every plugin with both keys', async () => {
    const { bin, cache, runtime } = fakeRuntime();
    fakePlugin(bin, 'a', onAdd(result100('10.0.0.2/24')));
    fakePlugin(bin, 'b', onAdd(result100('10.0.0.2/24')));
    const list = netList([{ type: 'a', capabilities: { mac: true } }, { type: 'b' }]);
    const other = netList([{ type: 'a' }], '1.1.0', {}, 'othernet');
    await runtime.addNetworkList(list, { ...att('keep'), args: [['K', 'V']] });
    await runtime.addNetworkList(list, { ...att('stale'), args: [['K', 'S']], capabilityArgs: { mac: '02:00:00:00:00:09' } });
    await runtime.addNetworkList(other, att('stale'));
    const before = calls(bin).length;
    await runtime.gcNetworkList(list, [{ containerID: 'keep', ifname: 'eth0' }]);
    const log = calls(bin).slice(before);
    expect(log.map((c) => `${c.cmd} ${c.plugin} ${c.id}`)).toEqual(['DEL b stale', 'DEL a stale', 'GC a ', 'GC b ']);
    expect(log[1]).toMatchObject({ netns: '/var/run/netns/stale', args: 'K=S', ifname: 'eth0' });
    expect(log[1]!.stdin.runtimeConfig).toEqual({ mac: '02:00:00:00:00:09' });
    expect(log[2]).toMatchObject({ netns: '', ifname: '', args: '', path: bin });
    expect(log[2]!.stdin).toEqual({
      capabilities: { mac: true },
      cniVersion: '1.1.0',
      'cni.dev/attachments': [{ containerID: 'keep', ifname: 'eth0' }],
      'cni.dev/valid-attachments': [{ containerID: 'keep', ifname: 'eth0' }],
      name: 'gcnet',
      type: 'a',
    });
    expect(readdirSync(join(cache, 'results')).sort()).toEqual(['gcnet-keep-eth0', 'othernet-stale-eth0']);
  });

  it('no valid list: every cached attachment of the network is DELed and GC has no attachments key', async () => {
    const { bin, cache, runtime } = fakeRuntime();
    fakePlugin(bin, 'a', onAdd(result100('10.0.0.2/24')));
    const list = netList([{ type: 'a' }]);
    await runtime.addNetworkList(list, att('x1'));
    await runtime.addNetworkList(list, att('x2'));
    await runtime.gcNetworkList(list);
    const log = calls(bin).slice(2);
    expect(log.map((c) => `${c.cmd} ${c.id}`)).toEqual(['DEL x1', 'DEL x2', 'GC ']);
    expect(log[2]!.stdin).not.toHaveProperty('cni.dev/valid-attachments');
    expect(readdirSync(join(cache, 'results'))).toEqual([]);
  });

  it('collects every error without stopping; below 1.1.0 only DELs; disableGC does nothing', async () => {
    const { bin, runtime } = fakeRuntime();
    fakePlugin(bin, 'failgc', `[ "$CNI_COMMAND" = GC ] && { echo '{"code":5,"msg":"io"}'; exit 1; }\n${onAdd(result100('10.0.0.2/24'))}`);
    fakePlugin(
      bin,
      'faildel',
      `[ "$CNI_COMMAND" = DEL ] && { echo '{"code":11,"msg":"later"}'; exit 1; }\n${onAdd(result100('10.0.0.2/24'))}`,
    );
    fakePlugin(bin, 'ok', onAdd(result100('10.0.0.2/24')));
    const list = netList([{ type: 'faildel' }, { type: 'failgc' }, { type: 'ok' }]);
    await runtime.addNetworkList(list, att('s1'));
    const before = calls(bin).length;
    const err = await rejection(runtime.gcNetworkList(list, []));
    expect(err.message.split('\n')).toEqual([
      'failed to delete stale attachment s1 eth0: plugin type="faildel" failed (delete): later',
      'failed to GC plugin failgc: io',
    ]);
    expect(
      calls(bin)
        .slice(before)
        .map((c) => `${c.cmd} ${c.plugin}`),
    ).toEqual(['DEL ok', 'DEL failgc', 'DEL faildel', 'GC faildel', 'GC failgc', 'GC ok']);

    const old = netList([{ type: 'ok' }], '1.0.0', {}, 'oldnet');
    await runtime.addNetworkList(old, att('s2'));
    const mark = calls(bin).length;
    await runtime.gcNetworkList(netList([{ type: 'ok' }], '1.1.0', { disableGC: 'True' }, 'oldnet'));
    expect(calls(bin).length).toBe(mark);
    await runtime.gcNetworkList(old);
    expect(
      calls(bin)
        .slice(mark)
        .map((c) => c.cmd),
    ).toEqual(['DEL']);
  });

  it('waits for ADDs in flight and holds new ones back — in this instance and in another sharing the cache dir', async () => {
    const { bin, cache, runtime } = fakeRuntime();
    fakePlugin(
      bin,
      'slow',
      `echo "start $CNI_COMMAND $CNI_CONTAINERID" >> ${bin}/order\nsleep 0.5\necho "end $CNI_COMMAND $CNI_CONTAINERID" >> ${bin}/order\n${onAdd(result100('10.0.0.2/24'))}`,
    );
    const list = netList([{ type: 'slow' }]);
    const other = new CniRuntime({ pluginPath: [bin], cacheDir: cache, stderr: () => undefined });
    const add1 = runtime.addNetworkList(list, att('p1'));
    const add2 = other.addNetworkList(list, att('p2'));
    await new Promise((r) => setTimeout(r, 150));
    const gc = runtime.gcNetworkList(list, [
      { containerID: 'p1', ifname: 'eth0' },
      { containerID: 'p2', ifname: 'eth0' },
      { containerID: 'p3', ifname: 'eth0' },
    ]);
    await new Promise((r) => setTimeout(r, 50));
    const add3 = other.addNetworkList(list, att('p3'));
    await Promise.all([add1, add2, gc, add3]);
    const order = (await import('node:fs')).readFileSync(join(bin, 'order'), 'utf8').trim().split('\n');
    // the two first ADDs overlap; GC runs after both and before the third ADD
    expect(order.slice(0, 2).sort()).toEqual(['start ADD p1', 'start ADD p2']);
    expect(order.slice(2, 4).sort()).toEqual(['end ADD p1', 'end ADD p2']);
    expect(order.slice(4)).toEqual(['start GC ', 'end GC ', 'start ADD p3', 'end ADD p3']);
    expect(existsSync(join(cache, 'gc.lock'))).toBe(true);
  });
});

describe('STATUS', () => {
  it('returns the first error unchanged (code 50), runs nothing below 1.1.0', async () => {
    const { bin, runtime } = fakeRuntime();
    fakePlugin(bin, 'ok', 'exit 0');
    fakePlugin(bin, 'down', `echo '{"cniVersion":"1.1.0","code":50,"msg":"plugin not available","details":"daemon down"}'; exit 1`);
    fakePlugin(bin, 'never', 'exit 0');
    const err = await rejection(runtime.statusNetworkList(netList([{ type: 'ok' }, { type: 'down' }, { type: 'never' }])));
    expect([err.code, err.message, err.details]).toEqual([50, 'plugin not available', 'daemon down']);
    const log = calls(bin);
    expect(log.map((c) => `${c.cmd} ${c.plugin}`)).toEqual(['STATUS ok', 'STATUS down']);
    expect(log[0]).toMatchObject({ id: '', netns: '', ifname: '', args: '' });
    expect(log[0]!.stdin).toEqual({ cniVersion: '1.1.0', name: 'gcnet', type: 'ok' });
    await runtime.statusNetworkList(netList([{ type: 'down' }], '1.0.0'));
    expect(calls(bin)).toHaveLength(2);
  });
});
