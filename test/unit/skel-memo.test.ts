// The skeleton's memo of validated configs: a repeated request gives exactly what a fresh one does,
// failures are never remembered, and the LRU stays bounded.
import { describe, expect, test } from 'vitest';
import { z } from 'zod';
import { definePlugin } from '../../src/skel/define-plugin.js';
import { ConfigMemo } from '../../src/skel/config-memo.js';
import { netConfSchema } from '../../src/spec/net-conf.js';

const env = { CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'c', CNI_IFNAME: 'eth0', CNI_NETNS: '/run/netns/fcni-t-absent', CNI_PATH: '/x' };

function counting() {
  let parses = 0;
  const configs: unknown[] = [];
  const schema = netConfSchema.extend({ mtu: z.number().int().min(68).optional() }).transform((c) => {
    parses++;
    return c;
  });
  const plugin = definePlugin({
    name: 'memo-dummy',
    config: schema,
    async add(conf, ctx) {
      configs.push(conf);
      return { ips: [{ address: '10.0.0.2/24' }], ...(ctx.prevResult ? { routes: [{ dst: '10.9.0.0/16' }] } : {}) };
    },
    async del() {},
  });
  return { plugin, parses: () => parses, configs };
}

describe('config memo', () => {
  test('a repeated request is validated once and answered identically', async () => {
    const { plugin, parses, configs } = counting();
    const stdin = JSON.stringify({ cniVersion: '1.0.0', name: 'n', type: 'memo-dummy', mtu: 1400 });
    const a = await plugin.invoke({ env, stdin });
    const b = await plugin.invoke({ env, stdin: new TextEncoder().encode(stdin) });
    expect(a.exitCode).toBe(0);
    expect(b).toEqual(a);
    expect(parses()).toBe(1);
    expect(configs[1]).toEqual(configs[0]);
    // The command-dependent checks still run on a hit.
    const check = await plugin.invoke({ env: { ...env, CNI_COMMAND: 'GC' }, stdin });
    expect(JSON.parse(check.stdout)).toMatchObject({ code: 1, msg: 'config version does not allow GC' });
    expect((await plugin.invoke({ env: { ...env, CNI_CONTAINERID: '' }, stdin })).exitCode).toBe(1);
  });

  test('failures are not remembered: the same bad request fails the same way each time', async () => {
    const { plugin, parses } = counting();
    const stdin = JSON.stringify({ cniVersion: '1.0.0', name: 'n', type: 'memo-dummy', mtu: 10 });
    const a = await plugin.invoke({ env, stdin });
    const b = await plugin.invoke({ env, stdin });
    expect(a.exitCode).toBe(1);
    expect(b).toEqual(a);
    expect(parses()).toBe(0);
  });

  test('prevResult is read per request (a different prevResult is a different request)', async () => {
    const { plugin } = counting();
    const base = { cniVersion: '1.0.0', name: 'n', type: 'memo-dummy' };
    const plain = await plugin.invoke({ env, stdin: JSON.stringify(base) });
    const chained = await plugin.invoke({ env, stdin: JSON.stringify({ ...base, prevResult: { cniVersion: '1.0.0', ips: [] } }) });
    expect(JSON.parse(plain.stdout).routes).toBeUndefined();
    expect(JSON.parse(chained.stdout).routes).toEqual([{ dst: '10.9.0.0/16' }]);
  });

  test('the LRU keeps at most its capacity, dropping the least recently used', () => {
    const memo = new ConfigMemo<number>(2);
    const key = (s: string) => new TextEncoder().encode(s);
    const entry = (n: number) => ({ raw: {}, canonical: {}, common: {} as never, config: n });
    memo.set(key('a'), entry(1));
    memo.set(key('b'), entry(2));
    expect(memo.get(key('a'))?.config).toBe(1);
    memo.set(key('c'), entry(3));
    expect(memo.get(key('b'))).toBeUndefined();
    expect(memo.get(key('a'))?.config).toBe(1);
    expect(memo.get(key('c'))?.config).toBe(3);
  });
});
