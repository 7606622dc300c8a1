// The agent in-process with a stand-in plugin, called through the launcher as a runtime would:
// concurrency, SIGTERM-style close with requests in flight, the status request and the Prometheus
// endpoint. No namespaces are touched.
import { existsSync, symlinkSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { startAgent } from '../../src/agent/server.js';
import { agentStatus } from '../../src/agent/status.js';
import { decodeResponse, encodeInvoke, type Response } from '../../src/agent/protocol.js';
import type { Plugin } from '../../src/skel/types.js';
import { tempDir } from '../helpers/fixtures.js';
import { execWith, OUR_BIN, type PluginRun } from '../helpers/run-plugin.js';

/** What the stand-in plugin saw of where its caller runs. */
interface Seen {
  hostNetns?: string;
  root?: string;
}

/** A plugin that echoes its env after a delay, and records where it was told its caller runs. */
function slowPlugin(delayMs: number, seen: Seen[]): Plugin<unknown> {
  return {
    name: 'slow',
    definition: {} as Plugin<unknown>['definition'],
    async invoke(inv) {
      seen.push({ hostNetns: inv.hostNetns, root: inv.paths?.caller?.root });
      await sleep(delayMs);
      return {
        exitCode: inv.env.CNI_COMMAND === 'ADD' ? 0 : 3,
        stdout: `${inv.env.CNI_CONTAINERID}:${Buffer.from(inv.stdin).toString()}`,
        stderr: 'log\n',
      };
    },
  };
}

/** The launcher under another plugin name (its file name is the plugin it forwards). */
function launcherNamed(name: string): string {
  const path = join(tempDir('launcher'), name);
  symlinkSync(join(OUR_BIN, 'bridge'), path);
  return path;
}

/** One invocation through the launcher, which sends the frame with its descriptors. */
function ask(socketPath: string, id: string, command = 'ADD', launcher = launcherNamed('slow')): Promise<PluginRun> {
  return execWith(launcher, [], { FASTCNI_SOCKET: socketPath, CNI_COMMAND: command, CNI_CONTAINERID: id }, 'in');
}

describe('agent server', () => {
  it('serves concurrently, finishes in-flight requests on close, then refuses new ones', async () => {
    const seen: Seen[] = [];
    const lines: string[] = [];
    const socketPath = join(tempDir('agent'), 'a', 'agent.sock');
    const agent = await startAgent({
      socketPath,
      loadPlugin: async (t) => (t === 'slow' ? slowPlugin(1000, seen) : undefined),
      logger: { debug: () => {}, info: (m) => void lines.push(m), warn: (m) => void lines.push(m), error: (m) => void lines.push(m) },
      metricsPort: 0,
    });
    const started = Date.now();
    const launcher = launcherNamed('slow');
    const answers = Promise.all(Array.from({ length: 8 }, (_, i) => ask(socketPath, `c${i}`, 'ADD', launcher)));
    for (let i = 0; i < 100 && agent.status().inFlight < 8; i++) await sleep(10);
    expect(agent.status().inFlight).toBe(8);
    const res = await fetch(`http://127.0.0.1:${agent.metricsPort}/metrics`);
    expect(await res.text()).toContain('fastcni_agent_in_flight 8');
    const closing = agent.close();
    // new callers find no socket (the launcher then falls back to Node)
    expect(existsSync(socketPath)).toBe(false);
    const all = await answers;
    await closing;
    expect(Date.now() - started).toBeLessThan(4000); // concurrent, not 8 × 1000 ms
    expect(all.map((a) => a.stdout)).toEqual(Array.from({ length: 8 }, (_, i) => `c${i}:in`));
    expect(all[0]).toMatchObject({ code: 0, stderr: 'log\n' });
    // the caller shares the agent's namespaces and root: no host namespace path, no other root
    expect(seen).toEqual(Array.from({ length: 8 }, () => ({ hostNetns: undefined, root: undefined })));
    expect(lines).toContain('agent stopped');
  });

  it('refuses a caller that stalls mid-frame after the read time-out, serving others meanwhile', async () => {
    const socketPath = join(tempDir('agent'), 'agent.sock');
    const warned: Array<Record<string, unknown> | undefined> = [];
    const agent = await startAgent({
      socketPath,
      readTimeoutMs: 400,
      loadPlugin: async (t) => (t === 'slow' ? slowPlugin(1, []) : undefined),
      logger: { debug() {}, info() {}, warn: (_m, f) => void warned.push(f), error() {} },
    });
    try {
      const stalled = new Promise<Response>((resolve) => {
        const sock = connect(socketPath);
        const chunks: Buffer[] = [];
        sock.on('connect', () => sock.write(encodeInvoke({ plugin: 'slow', env: {}, stdin: Buffer.from('x') }).subarray(0, 6)));
        sock.on('data', (c: Buffer) => chunks.push(c));
        sock.on('close', () => resolve(decodeResponse(Buffer.concat(chunks))));
      });
      await sleep(50);
      const t = Date.now();
      expect(await ask(socketPath, 'c1')).toMatchObject({ code: 0 });
      expect(Date.now() - t).toBeLessThan(300); // not queued behind the stalled caller
      expect(await stalled).toEqual({ kind: 'refused', reason: 'malformed request: request not complete after 400 ms' });
      expect(warned).toContainEqual(expect.objectContaining({ reason: 'malformed request: request not complete after 400 ms' }));
    } finally {
      await agent.close();
    }
  });

  it('answers status and unknown plugin types like the plugin entry does', async () => {
    const socketPath = join(tempDir('agent'), 'agent.sock');
    const agent = await startAgent({
      socketPath,
      loadPlugin: async (t) => (t === 'slow' ? slowPlugin(1, []) : undefined),
      logger: { debug() {}, info() {}, warn() {}, error() {} },
    });
    try {
      expect(await ask(socketPath, 'x', 'DEL')).toMatchObject({ code: 3 });
      const unknown = await ask(socketPath, 'x', 'ADD', launcherNamed('nope'));
      expect(unknown).toEqual({ code: 1, stdout: '', stderr: 'fastcni: unknown plugin type "nope"\n' });
      const s = await agentStatus(socketPath);
      expect(s).toMatchObject({ requests: 2, errors: 2, inFlight: 0, pid: process.pid });
      expect(s.rssBytes).toBeGreaterThan(0);
      expect(s.latency['slow DEL']?.count).toBe(1);
    } finally {
      await agent.close();
    }
  });
});
