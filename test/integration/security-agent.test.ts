// The agent's socket and logs under hostile use, through real launchers: a second agent on a socket
// another one serves refuses to start and leaves it serving, a dead agent's socket file is taken
// over, and neither the agent's log nor the launcher's or the fallback's stderr ever carries the
// environment or CNI_ARGS values (after an ADD, a refused config, a kernel failure and an agent
// killed mid-request).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { FASTCNI, runLauncher, startAgentProcess, type AgentProcess } from '../helpers/agent.js';
import { bridgeConf, cidrsOf, nodeAndPod, tempDir } from '../helpers/fixtures.js';
import { ip, type Netns } from '../helpers/netns.js';
import { cniEnv, type PluginRun } from '../helpers/run-plugin.js';

/** Values that must never be logged: a secret-like variable of the runtime's, and a token in CNI_ARGS. */
const SECRET = 'fcni-secret-6f1d2a7c';
const TOKEN = 'fcni-token-93be0c4a';
const HOSTILE_ENV = { FASTCNI_TEST_SECRET: SECRET, CNI_ARGS: `IgnoreUnknown=1;K8S_POD_NAME=p;SERVICE_ACCOUNT_TOKEN=${TOKEN}` };

interface Call {
  node: Netns;
  pod: Netns;
  socketPath: string;
  command: string;
  id: string;
  ifname?: string;
  conf: unknown;
}

function call(o: Call): Promise<PluginRun> {
  return runLauncher({
    plugin: 'bridge',
    env: { ...cniEnv(o.command, { id: o.id, netns: o.pod.path, ifname: o.ifname }), ...HOSTILE_ENV },
    stdin: JSON.stringify(o.conf),
    socketPath: o.socketPath,
    nodeNs: o.node.name,
  });
}

function expectNoSecret(text: string): void {
  expect(text).not.toContain(SECRET);
  expect(text).not.toContain(TOKEN);
}

describe('a second agent on the same socket', () => {
  it('refuses to start with a clear message and exit 1, the first keeps serving; a dead agent’s socket is taken over', async () => {
    const first = await startAgentProcess();
    const second = spawnSync(process.execPath, [FASTCNI, 'agent', '--socket', first.socketPath], { encoding: 'utf8', timeout: 60_000 });
    expect(second.status).toBe(1);
    expect(second.stderr).toContain(`another agent already answers on ${first.socketPath}`);
    expect(second.stderr).not.toMatch(/^\s+at\s/m);
    expect(first.proc.exitCode).toBeNull();
    expect(existsSync(first.socketPath)).toBe(true);
    // the first still answers
    const status = spawnSync(process.execPath, [FASTCNI, 'agent', 'status', '--socket', first.socketPath], { encoding: 'utf8' });
    expect(status.status, status.stderr).toBe(0);

    // killed, it leaves its socket file behind; the next agent removes it and serves
    first.proc.kill('SIGKILL');
    for (let i = 0; i < 100 && first.proc.exitCode === null && first.proc.signalCode === null; i++) await sleep(20);
    expect(existsSync(first.socketPath)).toBe(true);
    const third = await startAgentProcess({ socketPath: first.socketPath });
    expect(third.logs()).toContainEqual(expect.objectContaining({ msg: 'removing stale socket', socket: first.socketPath }));
    const again = spawnSync(process.execPath, [FASTCNI, 'agent', 'status', '--socket', first.socketPath], { encoding: 'utf8' });
    expect(again.status, again.stderr).toBe(0);
  });
});

describe('a request over the agent’s frame limit', () => {
  it('1 MiB of stdin gets the same bytes, exit code and stderr through an agent as without one', async () => {
    const agent = await startAgentProcess();
    const noAgent = join(tempDir('no-agent'), 'none.sock');
    // a config the plugin itself refuses, padded past the agent's 1 MiB request limit
    const stdin = JSON.stringify({ cniVersion: '1.0.0', name: 'big', type: 'host-local', pad: 'x'.repeat(1 << 20) });
    const env = {
      CNI_COMMAND: 'ADD',
      CNI_CONTAINERID: 'big1',
      CNI_IFNAME: 'eth0',
      CNI_NETNS: '/run/netns/fcni-t-absent',
      CNI_PATH: '/nowhere',
    };
    const [viaAgent, direct] = [
      await runLauncher({ plugin: 'host-local', env, stdin, socketPath: agent.socketPath }),
      await runLauncher({ plugin: 'host-local', env, stdin, socketPath: noAgent }),
    ];
    expect(direct.code).toBe(1);
    expect((direct.json as { code: number }).code).toBe(7);
    expect(viaAgent).toEqual(direct);
    // the agent never saw it as a refused frame
    expect(agent.logs()).not.toContainEqual(expect.objectContaining({ msg: 'request refused' }));
  });
});

describe('logs never carry the environment', () => {
  /** An ADD, DEL, a refused config and a kernel failure; every output and log line checked. */
  async function exercise(node: Netns, pod: Netns, socketPath: string, agent?: AgentProcess): Promise<string[]> {
    const dataDir = tempDir('sec-logs');
    const conf = bridgeConf({ dataDir, bridge: 'fcnisec0', subnet: '10.97.0.0/24' });
    const outputs: string[] = [];
    const run = async (command: string, c: unknown, id = 'sec-logs') => {
      const r = await call({ node, pod, socketPath, command, id, conf: c });
      outputs.push(r.stdout, r.stderr);
      return r;
    };
    const added = await run('ADD', conf);
    expect(added.code, added.stdout + added.stderr).toBe(0);
    expect(cidrsOf(pod, 'eth0')).toEqual(['10.97.0.2/24']);
    // refused config: the error names the field, not the environment
    const bad = await run('ADD', { ...conf, mtu: -1 }, 'sec-logs-bad');
    expect((bad.json as { code: number }).code).toBe(7);
    // a kernel failure: the bridge name is taken by a link that is not a bridge
    ip('-n', node.name, 'link', 'add', 'fcnisec1', 'type', 'veth', 'peer', 'name', 'fcnisec2');
    const fault = await run('ADD', { ...conf, bridge: 'fcnisec1' }, 'sec-logs-fault');
    expect(fault.code).toBe(1);
    const del = await run('DEL', conf);
    expect(del.code, del.stdout + del.stderr).toBe(0);
    if (agent) outputs.push(JSON.stringify(agent.logs()));
    return outputs;
  }

  it('through the agent (debug level): its log and the launcher’s stdout and stderr', async () => {
    const { node, pod } = nodeAndPod();
    const agent = await startAgentProcess();
    const outputs = await exercise(node, pod, agent.socketPath, agent);
    // the log did record the requests, so it was not just empty
    expect(agent.logs()).toContainEqual(expect.objectContaining({ msg: 'request', plugin: 'bridge', command: 'ADD' }));
    for (const o of outputs) expectNoSecret(o);
  });

  it('through the fallback (no agent): the plugin’s stdout and stderr', async () => {
    const { node, pod } = nodeAndPod();
    const outputs = await exercise(node, pod, join(tempDir('no-agent'), 'none.sock'));
    for (const o of outputs) expectNoSecret(o);
  });

  it('an agent killed while it serves: the launcher’s answer and the next agent’s log', async () => {
    const { node, pod } = nodeAndPod();
    const agent = await startAgentProcess();
    const dataDir = tempDir('sec-kill');
    const conf = bridgeConf({ dataDir, bridge: 'fcnisec3', subnet: '10.97.1.0/24' });
    const pending = Array.from({ length: 6 }, (_, i) =>
      call({ node, pod, socketPath: agent.socketPath, command: 'ADD', id: `k${i}`, ifname: `eth${i}`, conf }),
    );
    await sleep(30);
    agent.proc.kill('SIGKILL');
    const answers = await Promise.all(pending);
    for (const a of answers) expectNoSecret(a.stdout + a.stderr);
    const next = await startAgentProcess({ socketPath: agent.socketPath });
    const dels = await Promise.all(
      answers.map((_, i) => call({ node, pod, socketPath: next.socketPath, command: 'DEL', id: `k${i}`, ifname: `eth${i}`, conf })),
    );
    for (const d of dels) {
      expect(d.code, d.stdout + d.stderr).toBe(0);
      expectNoSecret(d.stdout + d.stderr);
    }
    expectNoSecret(JSON.stringify(next.logs()));
  });
});
