// The benchmark's --chain: each pod goes through podman's four plugins as libcni runs them.
import { describe, expect, it } from 'vitest';
import { chainRunner, type ModeContext, type Pod } from '../../benchmarks/modes.js';

const ctx = { network: 'bench', dataDir: '/tmp/none', workers: 1, chain: true } as ModeContext;
const pod: Pod = { index: 7, ns: 'p7', path: '/var/run/netns/p7', id: 'c7' };

describe('benchmark chain', () => {
  it('ADD runs bridge, portmap, firewall, tuning in order, each given the result before it; DEL runs them in reverse with the final result', async () => {
    const calls: Array<{ plugin: string; cmd: string; conf: Record<string, unknown> }> = [];
    const op = chainRunner('agent', ctx, async (plugin, cmd, _pod, conf) => {
      calls.push({ plugin, cmd, conf: JSON.parse(conf) });
      return { code: 0, us: 1000, stdout: JSON.stringify({ cniVersion: '1.0.0', from: plugin }), stderr: '' };
    });
    expect(await op(pod, 'ADD', 0)).toEqual({ ms: 4 });
    expect(calls.map((c) => c.plugin)).toEqual(['bridge', 'portmap', 'firewall', 'tuning']);
    expect(calls.map((c) => (c.conf.prevResult as { from?: string } | undefined)?.from)).toEqual([
      undefined,
      'bridge',
      'portmap',
      'firewall',
    ]);
    expect(calls[1]!.conf.runtimeConfig).toEqual({ portMappings: [{ hostPort: 20007, containerPort: 80, protocol: 'tcp' }] });
    expect(calls.every((c) => c.conf.name === 'bench' && c.conf.cniVersion === '1.0.0')).toBe(true);
    calls.length = 0;
    await op(pod, 'DEL', 0);
    expect(calls.map((c) => `${c.cmd} ${c.plugin}`)).toEqual(['DEL tuning', 'DEL firewall', 'DEL portmap', 'DEL bridge']);
    expect(calls.every((c) => (c.conf.prevResult as { from: string }).from === 'tuning')).toBe(true);
  });

  it('stops at the first plugin that fails and names it', async () => {
    const seen: string[] = [];
    const op = chainRunner('agent', ctx, async (plugin) => {
      seen.push(plugin);
      return plugin === 'portmap' ? { code: 1, us: 10, stdout: '{"msg":"no"}', stderr: '' } : { code: 0, us: 10, stdout: '{}', stderr: '' };
    });
    const r = await op(pod, 'ADD', 0);
    expect(seen).toEqual(['bridge', 'portmap']);
    expect(r.error).toContain('portmap: {"msg":"no"}');
  });
});
