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
import { callOnPath, privateCaller, type CallPath, type PrivateCaller } from '../helpers/private-caller.js';
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

/**
 * ADD, CHECK and DEL of the chain through `run` (our runtime or cnitool): the result reports the
 * MAC on the pod's interface, the kernel has every setting, DEL leaves nothing.
 */
async function addCheckDel(
  run: (verb: 'add' | 'check' | 'del') => Promise<PluginRun>,
  o: { s: Sandbox; node: Netns; pod: Netns; dataDir: string; mac: string },
): Promise<void> {
  const add = await run('add');
  expect(add.code, add.stderr).toBe(0);
  expect((add.json as Added).interfaces.find((i) => i.sandbox)).toMatchObject({ name: 'eth0', mac: o.mac });
  expectTuned(o.pod, o.dataDir, o.mac);
  for (const verb of ['check', 'del'] as const) {
    const r = await run(verb);
    expect(r.code, `${verb}: ${r.stderr}`).toBe(0);
  }
  expectGone(o.s, o.node, o.pod, o.dataDir);
}

describe('tuning chained after a bridge', () => {
  it('after our bridge, through our runtime', async () => {
    const { node, pod } = nodeAndPod();
    const s = sandbox();
    const dataDir = join(s.dataDir, 'tuning');
    writeBridgeList(s, { extraPlugins: [tuningEntry(dataDir)] });
    const run = (verb: string) => fastcni([verb, 'testnet', pod.name, ...(verb === 'add' ? ['--json'] : [])], { node, env: s.env });
    await addCheckDel(run, { s, node, pod, dataDir, mac: MAC });
  });

  it.skipIf(!haveCnitool)('after our bridge, through cnitool, the MAC from the mac capability', async () => {
    const { node, pod } = nodeAndPod();
    const s = cnitoolSandbox();
    const dataDir = join(s.dataDir, 'tuning');
    writeBridgeList(s, { extraPlugins: [tuningEntry(dataDir, { capabilities: { mac: true } })] });
    const env = { CAP_ARGS: JSON.stringify({ mac: CAP_MAC }) };
    await addCheckDel((verb) => cnitool(s, node, [verb, 'testnet', pod.path], { env }), { s, node, pod, dataDir, mac: CAP_MAC });
  });

  it.skipIf(!haveCnitool)('after the reference bridge and host-local (1.0.0), through cnitool', async () => {
    const { node, pod } = nodeAndPod();
    const s = cnitoolSandbox();
    const dataDir = join(s.dataDir, 'tuning');
    writeBridgeList(s, { cniVersion: '1.0.0', extraPlugins: [tuningEntry(dataDir)] });
    const cniPath = mixedPluginDir({ bridge: 'ref', 'host-local': 'ref', tuning: 'ours' });
    await addCheckDel((verb) => cnitool(s, node, [verb, 'testnet', pod.path], { cniPath }), { s, node, pod, dataDir, mac: MAC });
  });
});

/** One call as the private caller makes it, on the path under test. */
function call(path: CallPath, c: PrivateCaller, socketPath: string, env: Record<string, string>, conf: unknown): Promise<PluginRun> {
  return callOnPath(path, { caller: c, plugin: 'tuning', socketPath, env, conf });
}

describe('tuning from a caller in a mount namespace of its own', () => {
  it('ADD, CHECK, DEL and a refused sysctl: the same bytes through the agent, the fallback and in-process', async () => {
    const agent = await startAgentProcess();
    const dir = tempDir('private');
    const outputs: Record<CallPath, string[]> = { agent: [], fallback: [], 'in-process': [] };
    for (const path of ['agent', 'fallback', 'in-process'] as const) {
      const { node, pod } = nodeAndPod();
      podInterface(pod);
      const before = linkView(pod);
      const caller = await privateCaller({ node, pod, dir });
      // the allowlist and the backups live where only the caller sees them
      const allowlist = join(dir, 'data', 'allowlist.conf');
      const wrote = await caller.run(
        'sh',
        ['-c', `cat > ${allowlist}`],
        { PATH: process.env.PATH ?? '/usr/bin:/bin' },
        '^net\\.ipv4\\.conf\\.IFNAME\\.\n',
      );
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
      expect(await caller.files(join('data', 'tuning'))).toEqual([join(dir, 'data', 'tuning', 'ctr-mnt_eth0.json')]);
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
      expect(await caller.files(join('data', 'tuning'))).toEqual([]);
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
