// STATUS means something: host-local answers 50 while a range set is exhausted or its data
// directory cannot be written, and ready again once an address is freed or the directory writable;
// the plugins that delegate to it say the same, on every path, through our runtime and cnitool;
// `fastcni agent status` and the agent's Prometheus endpoint report what the agent served.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startAgentProcess } from '../helpers/agent.js';
import { cnitool, cnitoolSandbox, fastcni, haveCnitool, writeBridgeList } from '../helpers/cli.js';
import { nodeAndPod } from '../helpers/fixtures.js';
import { onEveryPath } from '../helpers/private-caller.js';

// Range set 1 is a /30: its one address besides the gateway (10.62.0.2) is taken by the first ADD,
// while set 0 has room left. An ADD needs an address from every set, so that is already "full".
const RANGES = [[{ subnet: '10.61.0.0/24' }], [{ subnet: '10.62.0.0/30' }]];
const EXHAUSTED = 'host-local: range set 1 is exhausted: no IP addresses available in range set: 10.62.0.1-10.62.0.2';

/** One call's exit code and printed error code and message, as a line the three paths compare. */
function outcome(step: string, r: { code: number; stdout: string }): string {
  if (r.code === 0) return `${step}: ok`;
  const e = JSON.parse(r.stdout) as { code: number; msg: string };
  return `${step}: ${e.code} ${e.msg}`;
}

describe('STATUS', () => {
  it('host-local and the plugins delegating to it: 50 when exhausted or not writable, ready again after, on every path', async () => {
    await onEveryPath(async ({ caller, env, call }) => {
      const dataDir = join(caller.dir, 'data');
      const ipam = { type: 'host-local', ranges: RANGES, dataDir };
      const hostLocal = { cniVersion: '1.1.0', name: 'full', type: 'host-local', ipam };
      const bridge = { cniVersion: '1.1.0', name: 'full', type: 'bridge', bridge: 'fcnist0', ipam };
      const ptp = { cniVersion: '1.1.0', name: 'full', type: 'ptp', ipam };
      const out: string[] = [];
      const step = async (name: string, plugin: string, command: string, conf: unknown, id = 'ctr-mnt') => {
        const r = await call(plugin, env(command, { CNI_CONTAINERID: id }), conf);
        out.push(outcome(name, r));
        return r;
      };
      const statuses = async (name: string) => {
        for (const [plugin, conf] of [
          ['host-local', hostLocal],
          ['bridge', bridge],
          ['ptp', ptp],
        ] as const)
          await step(`${name} ${plugin}`, plugin, 'STATUS', conf);
      };
      await statuses('fresh');
      expect((await step('add a', 'host-local', 'ADD', hostLocal)).code).toBe(0);
      await statuses('full');
      // STATUS told the truth: the next ADD cannot be served
      await step('add b', 'host-local', 'ADD', hostLocal, 'ctr-b');
      await step('del a', 'host-local', 'DEL', hostLocal);
      await statuses('freed');

      // Root writes through mode bits, so a mode-0500 directory is writable (an ADD works) and ready…
      await caller.run('chmod', ['0500', join(dataDir, 'full')], {}, '');
      await step('0500 status', 'host-local', 'STATUS', hostLocal);
      await caller.run('chmod', ['0755', join(dataDir, 'full')], {}, '');
      // …while a read-only mount, seen only by this caller, refuses root too.
      const ro = await caller.run('sh', ['-c', `mount --bind "${dataDir}" "${dataDir}" && mount -o remount,bind,ro "${dataDir}"`], {}, '');
      expect(ro.code, ro.stderr).toBe(0);
      await statuses('read-only');
      await step('read-only add', 'host-local', 'ADD', hostLocal);
      await caller.run('mount', ['-o', 'remount,bind,rw', dataDir], {}, '');
      await statuses('writable');
      const full = `50 ${EXHAUSTED}`;
      const readOnly = `50 host-local: dataDir ${dataDir} is not writable: ${dataDir}/full: EROFS`;
      const three = (name: string, what: string) => ['host-local', 'bridge', 'ptp'].map((p) => `${name} ${p}: ${what}`);
      expect(out).toEqual([
        ...three('fresh', 'ok'),
        'add a: ok',
        ...three('full', full),
        'add b: 999 failed to allocate for range 1: no IP addresses available in range set: 10.62.0.1-10.62.0.2',
        'del a: ok',
        ...three('freed', 'ok'),
        '0500 status: ok',
        ...three('read-only', readOnly),
        expect.stringMatching(/^read-only add: 999 .*EROFS/),
        ...three('writable', 'ok'),
      ]);
      return out;
    });
  });
});

describe('STATUS through the runtimes and the agent', () => {
  it('fastcni status, cnitool status, `fastcni agent status` and the metrics endpoint agree, full and freed', async () => {
    const { node, pod } = nodeAndPod();
    const agent = await startAgentProcess({ args: ['--metrics-port', '0'] });
    const port = agent.logs().find((l) => l.msg === 'agent listening')?.metricsPort as number;
    const s = cnitoolSandbox();
    writeBridgeList(s, { name: 'tiny', cniVersion: '1.1.0', subnet: '10.63.0.0/30', bridge: 'fcnist1' });
    const env = { ...s.env, FASTCNI_SOCKET: agent.socketPath };
    const message = 'host-local: range set 0 is exhausted: no IP addresses available in range set: 10.63.0.1-10.63.0.2';
    const metric = async (name: string) => {
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      return text.split('\n').find((l) => l.startsWith(`${name}{network="tiny"} `));
    };
    const agentView = async () => {
      const r = await fastcni(['--json', 'agent', 'status', 'tiny', '--socket', agent.socketPath], { env });
      return { code: r.code, json: JSON.parse(r.stdout) as { checked: unknown[]; networks: Record<string, unknown> } };
    };

    expect(await fastcni(['status', 'tiny'], { env })).toMatchObject({ code: 0, stdout: 'status tiny: ready\n' });
    const add = await fastcni(['add', 'tiny', pod.name], { node, env });
    expect(add.code, add.stderr).toBe(0);

    const full = await fastcni(['status', 'tiny'], { env });
    expect(full).toMatchObject({ code: 1, stderr: `error: ${message} (CNI code 50)\n` });
    if (haveCnitool) {
      const viaLibcni = await cnitool(s, node, ['status', 'tiny', pod.path], { env: { FASTCNI_SOCKET: agent.socketPath } });
      expect(viaLibcni.code).not.toBe(0);
      expect(viaLibcni.stdout + viaLibcni.stderr).toContain(message);
    }
    const notReady = await agentView();
    expect(notReady.code).toBe(1);
    expect(notReady.json.checked).toEqual([{ network: 'tiny', ready: false, code: 50, msg: message }]);
    expect(notReady.json.networks.tiny).toMatchObject({ ready: false, code: 50, msg: message, plugin: 'bridge' });
    expect(await metric('fastcni_network_ready')).toBe('fastcni_network_ready{network="tiny"} 0');
    expect(await metric('fastcni_network_status_code')).toBe('fastcni_network_status_code{network="tiny"} 50');
    const text = await fastcni(['agent', 'status', 'tiny', '--socket', agent.socketPath], { env });
    expect(text.code).toBe(1);
    expect(text.stdout).toContain(`    tiny: not ready: ${message} (CNI code 50) (bridge, `);

    expect((await fastcni(['del', 'tiny', pod.name], { node, env })).code).toBe(0);
    const ready = await agentView();
    expect(ready.code).toBe(0);
    expect(ready.json.checked).toEqual([{ network: 'tiny', ready: true }]);
    expect(ready.json.networks.tiny).toMatchObject({ ready: true, plugin: 'bridge' });
    expect(await metric('fastcni_network_ready')).toBe('fastcni_network_ready{network="tiny"} 1');
    expect(await metric('fastcni_network_status_code')).toBe('fastcni_network_status_code{network="tiny"} 0');
    expect(await fastcni(['status', 'tiny'], { env })).toMatchObject({ code: 0, stdout: 'status tiny: ready\n' });
    if (haveCnitool) expect((await cnitool(s, node, ['status', 'tiny', pod.path])).code).toBe(0);
  });
});
