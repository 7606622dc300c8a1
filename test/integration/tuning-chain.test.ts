// tuning chained after a main plugin as runtimes run it: after our bridge through our runtime (the
// fastcni CLI) and through libcni (cnitool), after the reference bridge and host-local at 1.0.0;
// and from a caller in a mount namespace of its own, with the same bytes through the agent, the
// launcher's fallback and in-process.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { agentStatus } from '../../src/agent/status.js';
import { startAgentProcess } from '../helpers/agent.js';
import {
  cacheFiles,
  cnitool,
  cnitoolSandbox,
  fastcni,
  haveCnitool,
  mixedPluginDir,
  reservations,
  sandbox,
  writeBridgeList,
  type Sandbox,
} from '../helpers/cli.js';
import { addrs, nodeAndPod, tempDir } from '../helpers/fixtures.js';
import type { Netns } from '../helpers/netns.js';
import { privateCaller, type PrivateCaller } from '../helpers/private-caller.js';
import { OUR_BIN, type PluginRun } from '../helpers/run-plugin.js';
import { linkView, podInterface, podSysctl } from '../helpers/tuning.js';

const MAC = 'c2:11:22:33:44:55';
const CAP_MAC = 'c2:11:22:33:44:66';

/** The tuning entry of a chain, its backups in the sandbox. */
function tuningEntry(dataDir: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    type: 'tuning',
    dataDir,
    mac: MAC,
    mtu: 1400,
    txQLen: 500,
    sysctl: { 'net.ipv4.conf.IFNAME.rp_filter': '2', 'net.core.somaxconn': '512' },
    ...extra,
  };
}

interface Added {
  interfaces: Array<{ name: string; mac?: string; sandbox?: string }>;
}

/** The pod's eth0 as tuned, its sysctls, the backup; then after DEL nothing left. */
function expectTuned(pod: Netns, dataDir: string, mac: string): void {
  expect(linkView(pod)).toMatchObject({ mac, mtu: 1400, txqlen: 500 });
  expect(podSysctl(pod, 'net/ipv4/conf/eth0/rp_filter')).toBe('2');
  expect(podSysctl(pod, 'net/core/somaxconn')).toBe('512');
  expect(readdirSync(dataDir)).toHaveLength(1);
}

function expectGone(s: Sandbox, node: Netns, pod: Netns, dataDir: string): void {
  expect(addrs(pod).map((l) => l.ifname)).toEqual(['lo']);
  expect(addrs(node).filter((l) => l.linkinfo?.info_kind === 'veth')).toEqual([]);
  expect(reservations(s)).toEqual([]);
  expect(cacheFiles(s)).toEqual([]);
  expect(existsSync(dataDir) ? readdirSync(dataDir) : []).toEqual([]);
}

describe('tuning chained after a bridge', () => {
  it('after our bridge, through our runtime: ADD, CHECK, DEL', async () => {
    const { node, pod } = nodeAndPod();
    const s = sandbox();
    const dataDir = join(s.dataDir, 'tuning');
    writeBridgeList(s, { extraPlugins: [tuningEntry(dataDir)] });
    const add = await fastcni(['add', 'testnet', pod.name, '--json'], { node, env: s.env });
    expect(add.code, add.stderr).toBe(0);
    expect((add.json as Added).interfaces.find((i) => i.sandbox)).toMatchObject({ name: 'eth0', mac: MAC });
    expectTuned(pod, dataDir, MAC);
    const check = await fastcni(['check', 'testnet', pod.name], { node, env: s.env });
    expect(check.code, check.stderr).toBe(0);
    const del = await fastcni(['del', 'testnet', pod.name], { node, env: s.env });
    expect(del.code, del.stderr).toBe(0);
    expectGone(s, node, pod, dataDir);
  });

  it.skipIf(!haveCnitool)('after our bridge, through cnitool, the MAC from the mac capability', async () => {
    const { node, pod } = nodeAndPod();
    const s = cnitoolSandbox();
    const dataDir = join(s.dataDir, 'tuning');
    writeBridgeList(s, { extraPlugins: [tuningEntry(dataDir, { capabilities: { mac: true } })] });
    const env = { CAP_ARGS: JSON.stringify({ mac: CAP_MAC }) };
    const add = await cnitool(s, node, ['add', 'testnet', pod.path], { env });
    expect(add.code, add.stderr).toBe(0);
    expect((add.json as Added).interfaces.find((i) => i.sandbox)).toMatchObject({ name: 'eth0', mac: CAP_MAC });
    expectTuned(pod, dataDir, CAP_MAC);
    const check = await cnitool(s, node, ['check', 'testnet', pod.path], { env });
    expect(check.code, check.stderr).toBe(0);
    const del = await cnitool(s, node, ['del', 'testnet', pod.path], { env });
    expect(del.code, del.stderr).toBe(0);
    expectGone(s, node, pod, dataDir);
  });

  it.skipIf(!haveCnitool)('after the reference bridge and host-local (1.0.0), through cnitool', async () => {
    const { node, pod } = nodeAndPod();
    const s = cnitoolSandbox();
    const dataDir = join(s.dataDir, 'tuning');
    writeBridgeList(s, { cniVersion: '1.0.0', extraPlugins: [tuningEntry(dataDir)] });
    const cniPath = mixedPluginDir({ bridge: 'ref', 'host-local': 'ref', tuning: 'ours' });
    const add = await cnitool(s, node, ['add', 'testnet', pod.path], { cniPath });
    expect(add.code, add.stderr).toBe(0);
    expect((add.json as Added).interfaces.find((i) => i.sandbox)).toMatchObject({ name: 'eth0', mac: MAC });
    expectTuned(pod, dataDir, MAC);
    const check = await cnitool(s, node, ['check', 'testnet', pod.path], { cniPath });
    expect(check.code, check.stderr).toBe(0);
    const del = await cnitool(s, node, ['del', 'testnet', pod.path], { cniPath });
    expect(del.code, del.stderr).toBe(0);
    expectGone(s, node, pod, dataDir);
  });
});

type Path = 'agent' | 'fallback' | 'in-process';

/**
 * A shell script run where the caller is, which reads all of its stdin: the helper writes stdin, and
 * a child that exits without reading it may make that write fail (EPIPE) after the test.
 */
function callerSh(c: PrivateCaller, script: string, stdin = ''): Promise<PluginRun> {
  return c.run('sh', ['-c', script], { PATH: process.env.PATH ?? '/usr/bin:/bin' }, stdin);
}

/** The file names in a directory of the caller's. */
async function callerLs(c: PrivateCaller, dir: string): Promise<string> {
  return (await callerSh(c, `cat > /dev/null; ls ${dir}`)).stdout;
}

/** One call as the private caller makes it, on the path under test. */
function call(path: Path, c: PrivateCaller, socketPath: string, env: Record<string, string>, conf: unknown): Promise<PluginRun> {
  const stdin = JSON.stringify(conf);
  if (path === 'in-process') return c.invokeInProcess('tuning', env, stdin);
  const socket = path === 'agent' ? socketPath : join(c.dir, 'no-agent.sock');
  return c.run(
    join(OUR_BIN, 'tuning'),
    [],
    { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', FASTCNI_SOCKET: socket, ...env },
    stdin,
  );
}

describe('tuning from a caller in a mount namespace of its own', () => {
  it('ADD, CHECK, DEL and a refused sysctl: the same bytes through the agent, the fallback and in-process', async () => {
    const agent = await startAgentProcess();
    const dir = tempDir('private');
    const outputs: Record<Path, string[]> = { agent: [], fallback: [], 'in-process': [] };
    for (const path of ['agent', 'fallback', 'in-process'] as const) {
      const { node, pod } = nodeAndPod();
      podInterface(pod);
      const before = linkView(pod);
      const caller = await privateCaller({ node, pod, dir });
      // the allowlist and the backups live where only the caller sees them
      const allowlist = join(dir, 'data', 'allowlist.conf');
      const wrote = await callerSh(caller, `cat > ${allowlist}`, '^net\\.ipv4\\.conf\\.IFNAME\\.\n');
      expect(wrote.code, wrote.stderr).toBe(0);
      expect(existsSync(join(dir, 'data'))).toBe(false);
      const dataDir = join(dir, 'data-link', 'tuning');
      const prevResult = { cniVersion: '1.0.0', interfaces: [{ name: 'eth0', sandbox: caller.netnsPath }], ips: [] };
      const conf = {
        cniVersion: '1.0.0',
        name: 'tunenet',
        type: 'tuning',
        dataDir,
        mac: MAC,
        promisc: true,
        sysctl: { 'net.ipv4.conf.IFNAME.rp_filter': '2' },
        prevResult,
      };
      const env = (command: string) => ({
        CNI_COMMAND: command,
        CNI_CONTAINERID: 'ctr-mnt',
        CNI_IFNAME: 'eth0',
        CNI_NETNS: caller.netnsPath,
        CNI_PATH: OUR_BIN,
        CNI_TUNING_ALLOWLIST: allowlist,
      });
      const add = await call(path, caller, agent.socketPath, env('ADD'), conf);
      expect(add, `${path} ADD`).toMatchObject({ code: 0, stderr: '' });
      expect(linkView(pod)).toMatchObject({ mac: MAC, promisc: true });
      expect(podSysctl(pod, 'net/ipv4/conf/eth0/rp_filter')).toBe('2');
      expect(await callerLs(caller, join(dir, 'data', 'tuning'))).toBe('ctr-mnt_eth0.json\n');
      outputs[path].push(add.stdout);
      const check = await call(path, caller, agent.socketPath, env('CHECK'), { ...conf, prevResult: JSON.parse(add.stdout) });
      expect(check, `${path} CHECK`).toEqual({ code: 0, stdout: '', stderr: '' });
      // the allowlist, read where the caller sees it, refuses what it does not list
      const refused = await call(path, caller, agent.socketPath, env('ADD'), { ...conf, sysctl: { 'net.core.somaxconn': '7' } });
      expect(refused.code, refused.stdout).toBe(1);
      expect(JSON.parse(refused.stdout)).toMatchObject({
        code: 7,
        msg: expect.stringMatching(/^sysctl: Sysctl net\.core\.somaxconn is not allowed/),
      });
      outputs[path].push(refused.stdout);
      const del = await call(path, caller, agent.socketPath, env('DEL'), conf);
      expect(del, `${path} DEL`).toEqual({ code: 0, stdout: '', stderr: '' });
      expect(linkView(pod)).toEqual(before);
      expect(await callerLs(caller, join(dir, 'data', 'tuning'))).toBe('');
    }
    const status = await agentStatus(agent.socketPath);
    expect(status.latency).toMatchObject({
      'tuning ADD': { count: 2, errors: 1 },
      'tuning CHECK': { count: 1, errors: 0 },
      'tuning DEL': { count: 1, errors: 0 },
    });
    expect(outputs.fallback).toEqual(outputs.agent);
    expect(outputs['in-process']).toEqual(outputs.agent);
  });
});
