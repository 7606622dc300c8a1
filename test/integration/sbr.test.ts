// The sbr plugin chained after a bridge: through our runtime, through libcni (cnitool), after the
// reference bridge and host-local (and against the reference sbr's kernel state), through the
// agent, the fallback and in-process from a caller in a mount namespace of its own; kernel state
// read with ip(8), a real datagram from the pod's address, DEL of a namespace that is gone, and bad
// input leaving the pod's routing as it was.
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startAgentProcess } from '../helpers/agent.js';
import { cnitool, cnitoolSandbox, fastcni, haveCnitool, mixedPluginDir, sandbox, writeBridgeList } from '../helpers/cli.js';
import { bridgeConf, cni, nodeAndPod, tempDir } from '../helpers/fixtures.js';
import { ip, removeNetns, type Netns } from '../helpers/netns.js';
import { callOnPath, privateCaller, type CallPath } from '../helpers/private-caller.js';
import { OUR_BIN } from '../helpers/run-plugin.js';
import { routingState, sourceRules, tableRoutes, udpProbe } from '../helpers/sbr.js';

const SBR = { type: 'sbr' };

/** Routes through eth0 left in the pod's main table. */
const mainRoutes = (pod: Netns) => tableRoutes(pod, 'main', 'eth0');

/** Our bridge on a pod, called directly: the prevResult sbr chains after. */
async function bridged(node: Netns, pod: Netns, id = 'ctr-sbr') {
  const conf = bridgeConf({ dataDir: tempDir('ipam') });
  const add = await cni('ADD', { node, pod, id, conf });
  expect(add.code, add.stdout).toBe(0);
  return { id, prev: add.json as { ips: Array<{ address: string }> } };
}

describe('sbr after our bridge', () => {
  it('through our runtime, dual-stack: a table and a rule per address, routes moved, a datagram from the address routed by its table', async () => {
    const { node, pod } = nodeAndPod();
    const s = sandbox();
    const bridge = bridgeConf({ dataDir: s.dataDir, ranges: [[{ subnet: '10.99.0.0/24' }], [{ subnet: 'fd99::/64' }]] });
    const { cniVersion, name, ...plugin } = bridge;
    writeFileSync(join(s.confDir, '10-testnet.conflist'), JSON.stringify({ cniVersion, name, plugins: [plugin, SBR] }));
    const add = await fastcni(['add', 'testnet', pod.name, '--json'], { node, env: s.env });
    expect(add.code, add.stderr).toBe(0);
    expect((add.json as { ips: Array<{ address: string }> }).ips.map((i) => i.address)).toEqual(['10.99.0.2/24', 'fd99::2/64']);

    expect(sourceRules(pod)).toEqual(['32765: from 10.99.0.2 lookup 100', '32765: from fd99::2 lookup 101']);
    // routes with neither gateway nor source hint go into every address's table, as in the reference
    const v6 = ['fd99::/64 dev eth0', 'fe80::/64 dev eth0'];
    expect(tableRoutes(pod, 100)).toEqual(['default via 10.99.0.1 dev eth0', '10.99.0.0/24 dev eth0 src 10.99.0.2', ...v6]);
    expect(tableRoutes(pod, 101)).toEqual([...v6, 'default via fd99::1 dev eth0']);
    expect(mainRoutes(pod)).toEqual([]);

    // From the pod's address the table routes it to the node; from no address main has no route.
    const port = 40_000 + Math.floor(Math.random() * 1000);
    const probe = { from: pod, to: node, address: '10.99.0.1', port };
    expect(await udpProbe({ ...probe, source: '10.99.0.2' })).toEqual({ sent: 'sent', received: 'hello from 10.99.0.2' });
    expect(await udpProbe(probe)).toEqual({ sent: 'ENETUNREACH', received: 'timeout' });

    const del = await fastcni(['del', 'testnet', pod.name], { node, env: s.env });
    expect(del.code, del.stderr).toBe(0);
    expect(sourceRules(pod)).toEqual([]);
    expect(tableRoutes(pod, 100)).toEqual([]);
    expect(tableRoutes(pod, 101)).toEqual([]);
  });

  it.skipIf(!haveCnitool)('through libcni (cnitool): ADD, DEL', async () => {
    const { node, pod } = nodeAndPod();
    const s = cnitoolSandbox();
    writeBridgeList(s, { extraPlugins: [SBR] });
    const add = await cnitool(s, node, ['add', 'testnet', pod.path]);
    expect(add.code, add.stderr).toBe(0);
    expect(sourceRules(pod)).toEqual(['32765: from 10.99.0.2 lookup 100']);
    // the link-local route has neither gateway nor source: the reference copies it too
    expect(tableRoutes(pod, 100)).toEqual(['default via 10.99.0.1 dev eth0', '10.99.0.0/24 dev eth0 src 10.99.0.2', 'fe80::/64 dev eth0']);
    const del = await cnitool(s, node, ['del', 'testnet', pod.path]);
    expect(del.code, del.stderr).toBe(0);
    expect(sourceRules(pod)).toEqual([]);
  });

  it('a fixed table gets only the rules, and DEL leaves its routes alone', async () => {
    const { node, pod } = nodeAndPod();
    const { id, prev } = await bridged(node, pod);
    const conf = { cniVersion: '1.0.0', name: 'testnet', type: 'sbr', table: 5000, prevResult: prev };
    const add = await cni('ADD', { node, pod, id, conf });
    expect(add.code, add.stdout).toBe(0);
    expect(add.json).toEqual(prev);
    expect(sourceRules(pod)).toEqual(['32765: from 10.99.0.2 lookup 5000']);
    expect(mainRoutes(pod)).toContain('default via 10.99.0.1 dev eth0');
    expect(tableRoutes(pod, 5000)).toEqual([]);
    expect(await cni('CHECK', { node, pod, id, conf })).toMatchObject({ code: 0, stdout: '' });
    const other = await cni('CHECK', { node, pod, id, conf: { ...conf, table: 5001 } });
    expect(other.json).toMatchObject({ code: 999, msg: 'sbr: the rule from 10.99.0.2 looks up table 5000, not 5001 (interface eth0)' });
    const del = await cni('DEL', { node, pod, id, conf });
    expect(del.code, del.stdout).toBe(0);
    expect(sourceRules(pod)).toEqual([]);
    expect(mainRoutes(pod)).toContain('default via 10.99.0.1 dev eth0');
  });

  it("gateways replace the default route's gateway; addSourceHints keeps the subnet route in main with the address as source", async () => {
    const { node, pod } = nodeAndPod();
    const { id, prev } = await bridged(node, pod);
    const conf = { cniVersion: '1.0.0', name: 'testnet', type: 'sbr', gateways: ['10.99.0.254'], addSourceHints: true, prevResult: prev };
    expect((await cni('ADD', { node, pod, id, conf })).code).toBe(0);
    expect(tableRoutes(pod, 100)).toEqual([
      'default via 10.99.0.254 dev eth0',
      '10.99.0.0/24 dev eth0 src 10.99.0.2',
      'fe80::/64 dev eth0',
    ]);
    expect(mainRoutes(pod)).toEqual(['10.99.0.0/24 dev eth0 src 10.99.0.2']);
    expect(await cni('CHECK', { node, pod, id, conf })).toMatchObject({ code: 0, stdout: '' });
    expect((await cni('DEL', { node, pod, id, conf })).code).toBe(0);
    expect(tableRoutes(pod, 100)).toEqual([]);
  });

  it('CHECK finds a missing default route or rule', async () => {
    const { node, pod } = nodeAndPod();
    const { id, prev } = await bridged(node, pod);
    const conf = { cniVersion: '1.0.0', name: 'testnet', type: 'sbr', prevResult: prev };
    expect((await cni('ADD', { node, pod, id, conf })).code).toBe(0);
    expect(await cni('CHECK', { node, pod, id, conf })).toMatchObject({ code: 0, stdout: '' });
    ip('-n', pod.name, 'route', 'del', 'default', 'table', '100');
    const noDefault = await cni('CHECK', { node, pod, id, conf });
    expect(noDefault.json).toMatchObject({ code: 999, msg: 'sbr: table 100 has no default route via 10.99.0.1 (interface eth0)' });
    ip('-n', pod.name, 'rule', 'del', 'from', '10.99.0.2');
    const noRule = await cni('CHECK', { node, pod, id, conf });
    expect(noRule.json).toMatchObject({ code: 999, msg: 'sbr: no rule from 10.99.0.2 (interface eth0)' });
    expect((await cni('DEL', { node, pod, id, conf })).code).toBe(0);
  });
});

describe.skipIf(!haveCnitool)('sbr after the reference bridge and host-local (cniVersion 1.0.0)', () => {
  it('leaves the same rules and routes as the reference sbr, and DEL removes them', async () => {
    const states: unknown[] = [];
    for (const sbr of ['ref', 'ours'] as const) {
      const { node, pod } = nodeAndPod();
      const s = cnitoolSandbox();
      writeBridgeList(s, { cniVersion: '1.0.0', extraPlugins: [SBR] });
      const cniPath = mixedPluginDir({ bridge: 'ref', 'host-local': 'ref', sbr });
      const add = await cnitool(s, node, ['add', 'testnet', pod.path], { cniPath });
      expect(add.code, `${sbr}: ${add.stdout}${add.stderr}`).toBe(0);
      expect(sourceRules(pod)).toEqual(['32765: from 10.99.0.2 lookup 100']);
      // The bridge's CHECK looks for its routes in main, where sbr took them from: it fails the
      // same way whichever sbr ran.
      const check = await cnitool(s, node, ['check', 'testnet', pod.path], { cniPath });
      states.push({ kernel: routingState(pod), check: [check.code, check.stderr] });
      const del = await cnitool(s, node, ['del', 'testnet', pod.path], { cniPath });
      expect(del.code, `${sbr}: ${del.stdout}${del.stderr}`).toBe(0);
      expect(sourceRules(pod)).toEqual([]);
    }
    expect(states[1]).toEqual(states[0]);
    expect(states[0]).toMatchObject({ check: [1, expect.stringContaining('Failed to find Gateway 10.99.0.1 for interface eth0')] });
  });
});

describe('sbr DEL', () => {
  it('succeeds when the namespace is gone, creating nothing at its path, and without CNI_NETNS', async () => {
    const { node, pod } = nodeAndPod();
    const { id, prev } = await bridged(node, pod);
    const conf = { cniVersion: '1.0.0', name: 'testnet', type: 'sbr' };
    const add = await cni('ADD', { node, pod, id, conf: { ...conf, prevResult: prev } });
    expect(add.code, add.stdout).toBe(0);
    removeNetns(pod.name);
    expect(existsSync(pod.path)).toBe(false);
    const del = await cni('DEL', { node, pod, id, conf: { ...conf, prevResult: prev } });
    expect(del).toMatchObject({ code: 0, stdout: '' });
    expect(existsSync(pod.path)).toBe(false);
    const bare = await cni('DEL', { node, id, conf });
    expect(bare).toMatchObject({ code: 0, stdout: '' });
  });
});

describe('sbr DEL without the interface', () => {
  it("removes the rules of prevResult's addresses (the reference fails when the interface is gone)", async () => {
    const { node, pod } = nodeAndPod();
    const { id, prev } = await bridged(node, pod);
    const conf = { cniVersion: '1.0.0', name: 'testnet', type: 'sbr', prevResult: prev };
    expect((await cni('ADD', { node, pod, id, conf })).code).toBe(0);
    ip('-n', pod.name, 'link', 'del', 'eth0');
    expect(sourceRules(pod)).toEqual(['32765: from 10.99.0.2 lookup 100']);
    expect(await cni('DEL', { node, pod, id, conf })).toMatchObject({ code: 0, stdout: '' });
    expect(sourceRules(pod)).toEqual([]);
  });
});

describe('sbr bad input', () => {
  it('each gets its code, a message naming the problem, and leaves the routing as it was', async () => {
    const { node, pod } = nodeAndPod();
    const { id, prev } = await bridged(node, pod);
    const before = routingState(pod);
    const base = { cniVersion: '1.0.0', name: 'testnet', type: 'sbr', prevResult: prev };
    const cases: Array<[Record<string, unknown>, number, RegExp, string?]> = [
      [{ prevResult: undefined }, 7, /prevResult is missing/],
      [{ prevResult: { ...prev, ips: [] } }, 7, /No IP addresses supplied on interface: eth0/],
      [{ table: 0 }, 7, /^table: /],
      [{ table: 'main' }, 7, /^table: /],
      [{ gateways: ['10.99.0.1', 'gw'] }, 7, /^gateways\[1\]: not an IP address/],
      [{ gateways: ['10.99.0.1', '10.99.0.9'] }, 7, /^gateways: at most one IPv4 gateway/],
      [{ table: 100, addSourceHints: true }, 7, /^addSourceHints: cannot be used with a fixed table/],
      // the kernel refuses the default route: the rule made before it is undone
      [{ gateways: ['192.0.2.1'] }, 999, /192\.0\.2\.1/],
      [{}, 999, /eth9/, 'eth9'],
    ];
    for (const [extra, code, msg, ifname] of cases) {
      const conf = { ...base, ...extra };
      const run = await cni('ADD', { node, pod, id, conf, ifname });
      const label = JSON.stringify(extra);
      expect(run.code, label).not.toBe(0);
      expect(run.json, label).toMatchObject({ code, msg: expect.stringMatching(msg) });
      expect(routingState(pod), label).toEqual(before);
    }
  });
});

describe('sbr from a caller in a mount namespace of its own', () => {
  it('ADD, DEL and a DEL of a namespace that is gone: same bytes through the agent, the fallback and in-process', async () => {
    const agent = await startAgentProcess();
    const dir = tempDir('private');
    const outputs: Record<CallPath, string[]> = { agent: [], fallback: [], 'in-process': [] };
    for (const path of ['agent', 'fallback', 'in-process'] as const) {
      const { node, pod } = nodeAndPod();
      const { id } = await bridged(node, pod);
      const caller = await privateCaller({ node, pod, dir });
      // the result as the caller's runtime would have it: the namespace named as the caller names it
      const prevResult = {
        cniVersion: '1.0.0',
        interfaces: [{ name: 'eth0', sandbox: caller.netnsPath }],
        ips: [{ address: '10.99.0.2/24', gateway: '10.99.0.1', interface: 0 }],
      };
      const conf = { cniVersion: '1.0.0', name: 'testnet', type: 'sbr', prevResult };
      const env = (command: string, netns = caller.netnsPath) => ({
        CNI_COMMAND: command,
        CNI_CONTAINERID: id,
        CNI_IFNAME: 'eth0',
        CNI_NETNS: netns,
        CNI_PATH: OUR_BIN,
      });
      const call = (e: Record<string, string>) => callOnPath(path, { caller, plugin: 'sbr', socketPath: agent.socketPath, env: e, conf });
      const add = await call(env('ADD'));
      expect(add, `${path} ADD`).toMatchObject({ code: 0, stderr: '' });
      expect(sourceRules(pod)).toEqual(['32765: from 10.99.0.2 lookup 100']);
      const check = await call(env('CHECK'));
      expect(check, `${path} CHECK`).toEqual({ code: 0, stdout: '', stderr: '' });
      const missing = join(caller.dir, 'netns', 'missing');
      const failed = await call(env('ADD', missing));
      expect(failed.code, `${path} ${failed.stdout}`).toBe(1);
      expect(failed.stdout).toContain(missing);
      expect(failed.stdout + failed.stderr).not.toContain('/proc/self/fd');
      const del = await call(env('DEL'));
      expect(del, `${path} DEL`).toEqual({ code: 0, stdout: '', stderr: '' });
      expect(sourceRules(pod)).toEqual([]);
      const gone = await call(env('DEL', missing));
      expect(gone, `${path} DEL of a missing namespace`).toEqual({ code: 0, stdout: '', stderr: '' });
      expect(await caller.files('netns')).toEqual([join(caller.dir, 'netns', 'pod')]);
      outputs[path].push(add.stdout, failed.stdout);
    }
    expect(outputs.fallback).toEqual(outputs.agent);
    expect(outputs['in-process']).toEqual(outputs.agent);
  });
});
