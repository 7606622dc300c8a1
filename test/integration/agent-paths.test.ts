// The exec path three ways — launcher + agent, launcher falling back to Node, plugin.invoke in-process —
// must print the same bytes for the same request. Also: the fallback when there is no agent or only
// a stale socket file, and the agent replacing a stale socket but never a live one.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadPlugin } from '../../src/plugins.js';
import { agentStatus } from '../../src/agent/status.js';
import { FASTCNI, startAgentProcess, runLauncher } from '../helpers/agent.js';
import { bridgeConf, bridgePorts, cidrsOf, nodeAndPod, tempDir } from '../helpers/fixtures.js';
import { hlConf } from '../helpers/host-local.js';
import { ipJson } from '../helpers/netns.js';
import { OUR_BIN, type PluginRun } from '../helpers/run-plugin.js';

type Path = 'agent' | 'fallback' | 'in-process';

/** A NODE_OPTIONS preload that records every Node start in a file: proof of which path ran. */
function nodeStartProbe(): { env: Record<string, string>; starts(): number } {
  const dir = tempDir('probe');
  const log = join(dir, 'starts');
  writeFileSync(join(dir, 'probe.cjs'), `require('fs').appendFileSync(${JSON.stringify(log)}, 'x');\n`);
  return {
    env: { NODE_OPTIONS: `--require ${join(dir, 'probe.cjs')}` },
    starts: () => (existsSync(log) ? readFileSync(log, 'utf8').length : 0),
  };
}

function cniEnv(command: string, id: string, netns: string | undefined, args?: string): Record<string, string> {
  const env: Record<string, string> = { CNI_COMMAND: command, CNI_CONTAINERID: id, CNI_IFNAME: 'eth0', CNI_PATH: OUR_BIN };
  if (netns) env.CNI_NETNS = netns;
  if (args) env.CNI_ARGS = args;
  return env;
}

async function viaPath(
  path: Path,
  o: {
    plugin: string;
    env: Record<string, string>;
    conf: unknown;
    node: { name: string; path: string };
    socketPath: string;
    extraEnv?: Record<string, string>;
  },
): Promise<PluginRun> {
  const stdin = JSON.stringify(o.conf);
  if (path === 'in-process') {
    const plugin = (await loadPlugin(o.plugin))!;
    const out = await plugin.invoke({ env: o.env, stdin, hostNetns: o.node.path, loadPlugin });
    return { code: out.exitCode, stdout: out.stdout, stderr: out.stderr };
  }
  const socketPath = path === 'agent' ? o.socketPath : join(tempDir('noagent'), 'agent.sock');
  const run = await runLauncher({ plugin: o.plugin, env: o.env, stdin, socketPath, nodeNs: o.node.name, extraEnv: o.extraEnv });
  return { code: run.code, stdout: run.stdout, stderr: run.stderr };
}

describe('three paths, same bytes', () => {
  it('host-local ADD with a requested IP, an error, and VERSION', async () => {
    const agent = await startAgentProcess();
    const probe = nodeStartProbe();
    const outputs: Record<Path, PluginRun[]> = { agent: [], fallback: [], 'in-process': [] };
    for (const path of ['agent', 'fallback', 'in-process'] as const) {
      const { node, pod } = nodeAndPod();
      const dataDir = tempDir('hl');
      const conf = hlConf({ dataDir, ranges: [[{ subnet: '10.77.0.0/24' }]] });
      const common = { plugin: 'host-local', node, socketPath: agent.socketPath, extraEnv: probe.env };
      const before = probe.starts();
      outputs[path].push(await viaPath(path, { ...common, conf, env: cniEnv('ADD', 'ctr-a', pod.path, 'IP=10.77.0.10') }));
      outputs[path].push(
        await viaPath(path, { ...common, conf: { ...conf, ipam: { type: 'host-local' } }, env: cniEnv('ADD', 'ctr-b', pod.path) }),
      );
      outputs[path].push(await viaPath(path, { ...common, conf, env: { CNI_COMMAND: 'VERSION' } }));
      // Node started by the fallback only: once per call.
      expect(probe.starts() - before).toBe(path === 'fallback' ? 3 : 0);
      expect(readFileSync(join(dataDir, 'net1', '10.77.0.10'), 'utf8').split(/\r?\n/)[0]).toBe('ctr-a');
    }
    expect(outputs.agent[0]!.code).toBe(0);
    expect(JSON.parse(outputs.agent[0]!.stdout).ips[0].address).toBe('10.77.0.10/24');
    expect(outputs.agent[1]!.code).toBe(1);
    expect(outputs.agent[2]!.code).toBe(0);
    expect(outputs.fallback).toEqual(outputs.agent);
    expect(outputs['in-process']).toEqual(outputs.agent);
    const status = await agentStatus(agent.socketPath);
    expect(status.requests).toBe(3);
    expect(status.latency['host-local ADD']?.count).toBe(2);
  });

  it('bridge ADD in a node namespace: same output but for MACs and the host veth name', async () => {
    const agent = await startAgentProcess();
    const normal: Record<string, string> = {};
    for (const path of ['agent', 'fallback', 'in-process'] as const) {
      const { node, pod } = nodeAndPod();
      const dataDir = tempDir('br');
      const conf = bridgeConf({ dataDir });
      const add = await viaPath(path, {
        plugin: 'bridge',
        node,
        socketPath: agent.socketPath,
        conf,
        env: cniEnv('ADD', 'ctr-1', pod.path, 'IP=10.99.0.7'),
      });
      expect(add.stderr).toBe('');
      expect(add.code).toBe(0);
      // the kernel agrees, whichever path did it
      expect(cidrsOf(pod, 'eth0')).toEqual(['10.99.0.7/24']);
      const [port] = bridgePorts(node, 'fcnibr0');
      const podMac = ipJson<Array<{ ifname: string; address: string }>>('-n', pod.name, 'link').find((l) => l.ifname === 'eth0')!.address;
      expect(add.stdout).toContain(podMac);
      normal[path] = add.stdout
        .replace(/"([0-9a-f]{2}:){5}[0-9a-f]{2}"/g, '"MAC"')
        .replaceAll(`"${port}"`, '"HOSTVETH"')
        .replaceAll(pod.path, 'PODNS');
      const del = await viaPath(path, {
        plugin: 'bridge',
        node,
        socketPath: agent.socketPath,
        conf,
        env: cniEnv('DEL', 'ctr-1', pod.path),
      });
      expect(del).toMatchObject({ code: 0, stdout: '' });
      expect(bridgePorts(node, 'fcnibr0')).toEqual([]);
    }
    expect(normal.fallback).toBe(normal.agent);
    expect(normal['in-process']).toBe(normal.agent);
    const status = await agentStatus(agent.socketPath);
    expect(status.latency).toMatchObject({ 'bridge ADD': { count: 1, errors: 0 }, 'bridge DEL': { count: 1 } });
    // where the ADD's time went: the plugin command, its IPAM, the native call and its kernel steps
    const phase = (name: string) => status.phases.find((p) => p.name === name);
    for (const name of [
      'bridge.ADD',
      'ipam.ADD',
      'native.bridgeAdd',
      'bridgeAdd.vethCreate',
      'bridgeAdd.podBatch',
      'bridgeAdd.masquerade',
    ]) {
      expect(phase(name)?.count, name).toBeGreaterThanOrEqual(1);
      expect(phase(name)?.totalMs, name).toBeGreaterThan(0);
    }
    expect(phase('native.bridgeAdd')!.totalMs).toBeLessThan(phase('bridge.ADD')!.totalMs);
    // the agent's whole share of its two requests (ADD, DEL), the plugin commands within it
    expect(phase('agent.request')?.count).toBe(2);
    expect(phase('agent.request')!.totalMs).toBeGreaterThan(phase('bridge.ADD')!.totalMs);
  });

  it('a config without type: code 7 naming the field, on every path and for every plugin', async () => {
    const agent = await startAgentProcess();
    const outputs: Record<Path, PluginRun[]> = { agent: [], fallback: [], 'in-process': [] };
    for (const path of ['agent', 'fallback', 'in-process'] as const) {
      const { node, pod } = nodeAndPod();
      const { type: _type, ...conf } = bridgeConf({ dataDir: tempDir('br') });
      for (const plugin of ['bridge', 'host-local', 'loopback', 'portmap']) {
        const run = await viaPath(path, { plugin, node, socketPath: agent.socketPath, conf, env: cniEnv('ADD', 'ctr-1', pod.path) });
        outputs[path].push(run);
        expect(run.code, `${path} ${plugin}`).toBe(1);
        expect(JSON.parse(run.stdout), `${path} ${plugin}`).toMatchObject({ code: 7, msg: expect.stringMatching(/^type: /) });
      }
      expect(bridgePorts(node, 'fcnibr0')).toEqual([]);
    }
    expect(outputs.fallback).toEqual(outputs.agent);
    expect(outputs['in-process']).toEqual(outputs.agent);
  });
});

describe('fallback', () => {
  it("a delegate that is not ours runs in the launcher's namespace, not the agent's", async () => {
    const agent = await startAgentProcess();
    const { node, pod } = nodeAndPod();
    const dir = tempDir('foreign');
    const seen = join(dir, 'seen');
    // An IPAM plugin of someone else's (no marker, so exec'd), recording where it ran.
    writeFileSync(
      join(dir, 'ns-ipam'),
      `#!/bin/sh\ncat >/dev/null\nreadlink /proc/self/ns/net >> ${seen}\n` +
        `[ "$CNI_COMMAND" = ADD ] && echo '{"cniVersion":"1.0.0","ips":[{"address":"10.98.0.5/24","gateway":"10.98.0.1"}]}'\nexit 0\n`,
      { mode: 0o755 },
    );
    const conf = bridgeConf({ dataDir: dir, ipamType: 'ns-ipam', subnet: '10.98.0.0/24' });
    const env = (cmd: string) => ({ ...cniEnv(cmd, 'ctr-ns', pod.path), CNI_PATH: `${OUR_BIN}:${dir}` });
    const add = await viaPath('agent', { plugin: 'bridge', node, socketPath: agent.socketPath, conf, env: env('ADD') });
    expect(add.code, add.stdout + add.stderr).toBe(0);
    expect(cidrsOf(pod, 'eth0')).toEqual(['10.98.0.5/24']);
    const del = await viaPath('agent', { plugin: 'bridge', node, socketPath: agent.socketPath, conf, env: env('DEL') });
    expect(del.code, del.stdout + del.stderr).toBe(0);
    const nodeNs = execFileSync('ip', ['netns', 'exec', node.name, 'readlink', '/proc/self/ns/net'], { encoding: 'utf8' }).trim();
    expect(nodeNs).not.toBe(readlinkSync('/proc/self/ns/net')); // the agent runs in the machine's namespace
    expect(readFileSync(seen, 'utf8').trim().split('\n')).toEqual([nodeNs, nodeNs]);
    expect((await agentStatus(agent.socketPath)).latency['bridge ADD']).toMatchObject({ count: 1, errors: 0 });
  });

  it('runs Node when the socket file is stale (agent killed), and a new agent replaces the stale file', async () => {
    const agent = await startAgentProcess();
    agent.proc.kill('SIGKILL');
    await new Promise((r) => agent.proc.once('exit', r));
    expect(existsSync(agent.socketPath)).toBe(true); // stale: nobody accepts on it
    const probe = nodeStartProbe();
    const { node, pod } = nodeAndPod();
    const conf = hlConf({ dataDir: tempDir('hl'), ranges: [[{ subnet: '10.77.0.0/24' }]] });
    const run = await runLauncher({
      plugin: 'host-local',
      env: cniEnv('ADD', 'ctr-s', pod.path),
      stdin: JSON.stringify(conf),
      socketPath: agent.socketPath,
      nodeNs: node.name,
      extraEnv: probe.env,
    });
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout).ips[0].address).toBe('10.77.0.2/24');
    expect(probe.starts()).toBe(1);

    const again = await startAgentProcess({ socketPath: agent.socketPath });
    expect(again.logs().some((l) => l.msg === 'removing stale socket')).toBe(true);
    const run2 = await runLauncher({
      plugin: 'host-local',
      env: cniEnv('ADD', 'ctr-t', pod.path),
      stdin: JSON.stringify(conf),
      socketPath: agent.socketPath,
      nodeNs: node.name,
      extraEnv: probe.env,
    });
    expect(JSON.parse(run2.stdout).ips[0].address).toBe('10.77.0.3/24');
    expect(probe.starts()).toBe(1);

    // a live agent is never displaced
    const third = spawn(process.execPath, [FASTCNI, 'agent', '--socket', agent.socketPath], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    third.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const code = await new Promise((r) => third.once('exit', r));
    expect(code).toBe(1);
    expect(err).toContain('another agent already answers');
    expect(await again.stop()).toBe(0);
    expect(existsSync(agent.socketPath)).toBe(false);
  });

  it('stdin reaches Node intact and the socket is 0600 in a 0700 directory', async () => {
    const agent = await startAgentProcess();
    expect(execFileSync('stat', ['-c', '%a', agent.socketPath], { encoding: 'utf8' }).trim()).toBe('600');
    expect(execFileSync('stat', ['-c', '%a', join(agent.socketPath, '..')], { encoding: 'utf8' }).trim()).toBe('700');
    // no socket at all: fallback; a large config (well over a pipe buffer) must arrive whole
    const { node, pod } = nodeAndPod();
    const conf = { ...hlConf({ dataDir: tempDir('hl'), ranges: [[{ subnet: '10.77.0.0/24' }]] }), padding: 'x'.repeat(300_000) };
    const run = await runLauncher({
      plugin: 'host-local',
      env: cniEnv('ADD', 'ctr-big', pod.path),
      stdin: JSON.stringify(conf),
      socketPath: '/nonexistent/agent.sock',
      nodeNs: node.name,
    });
    expect(run.code).toBe(0);
    const viaAgent = await runLauncher({
      plugin: 'host-local',
      env: cniEnv('ADD', 'ctr-big2', pod.path),
      stdin: JSON.stringify(conf),
      socketPath: agent.socketPath,
      nodeNs: node.name,
    });
    expect(JSON.parse(viaAgent.stdout).ips[0].address).toBe('10.77.0.3/24');
  });
});
