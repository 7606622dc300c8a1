// The macvlan plugin on the real kernel: a master in a node namespace (a veth end), pods attached
// to it; kernel state read with ip(8), real pings pod↔pod, the default-route master, linkInContainer,
// no IPAM, bad input leaving nothing, the reference binary's state next to ours, our runtime and
// libcni (cnitool), and the three paths from a caller in a mount namespace of its own.
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { startAgentProcess } from '../helpers/agent.js';
import { cnitool, cnitoolSandbox, fastcni, haveCnitool, mixedPluginDir, reservations, sandbox } from '../helpers/cli.js';
import { cidrsOf, cni, tempDir } from '../helpers/fixtures.js';
import { inNs, ip, makeNetns, removeNetns, type Netns } from '../helpers/netns.js';
import { callOnPath, privateCaller, type CallPath } from '../helpers/private-caller.js';
import { OUR_BIN, REF_BIN } from '../helpers/run-plugin.js';
import { expectRefused, hostLocal, linkNames, linkOf, nodeWithMaster, type RefusedCase } from '../helpers/sublink.js';

function macvlanConf(o: { master?: string; ipam?: Record<string, unknown>; extra?: Record<string, unknown>; cniVersion?: string } = {}) {
  return {
    cniVersion: o.cniVersion ?? '1.0.0',
    name: 'mvnet',
    type: 'macvlan',
    ...(o.master !== undefined ? { master: o.master } : {}),
    ...(o.ipam ? { ipam: o.ipam } : {}),
    ...o.extra,
  };
}

describe('macvlan ADD, CHECK, DEL', () => {
  it('two pods in bridge mode on one master reach each other; CHECK passes; DEL leaves no link and no reservation', async () => {
    const { node, master } = nodeWithMaster();
    const ipamBox = sandbox();
    const dataDir = ipamBox.dataDir;
    const conf = macvlanConf({ master, ipam: hostLocal('10.77.0.0/24', dataDir) });
    const pods = [makeNetns('pod'), makeNetns('pod')];
    const results = [];
    for (const [i, pod] of pods.entries()) {
      const add = await cni('ADD', { node, pod, id: `mv-${i}`, conf });
      expect(add.code, add.stdout).toBe(0);
      results.push(add.json as { interfaces: Array<{ name: string; mac: string; sandbox: string }>; ips: unknown[] });
    }
    const [r0] = results;
    expect(r0).toMatchObject({
      cniVersion: '1.0.0',
      interfaces: [{ name: 'eth0', sandbox: pods[0]?.path }],
      ips: [{ address: '10.77.0.2/24', gateway: '10.77.0.1', interface: 0 }],
      routes: [{ dst: '0.0.0.0/0' }],
    });
    const link = linkOf(pods[0] as Netns, 'eth0');
    expect(link).toMatchObject({
      operstate: 'UP',
      mtu: 1500,
      address: r0?.interfaces[0]?.mac,
      linkinfo: { info_kind: 'macvlan', info_data: { mode: 'bridge' } },
    });
    // made from the node namespace: its lower link is there
    expect(link?.link_netnsid).toBeTypeOf('number');
    expect(cidrsOf(pods[1] as Netns, 'eth0')).toEqual(['10.77.0.3/24']);
    // ping exits non-zero (and inNs throws) when no reply comes
    inNs((pods[0] as Netns).name, 'ping', '-c', '1', '-W', '2', '10.77.0.3');
    inNs((pods[1] as Netns).name, 'ping', '-c', '1', '-W', '2', '10.77.0.2');

    const check = await cni('CHECK', { node, pod: pods[0], id: 'mv-0', conf: { ...conf, prevResult: r0 } });
    expect(check, check.stdout).toMatchObject({ code: 0, stdout: '' });
    // CHECK sees a mode that is not the configured one
    const otherMode = await cni('CHECK', { node, pod: pods[0], id: 'mv-0', conf: { ...conf, mode: 'private', prevResult: r0 } });
    expect(otherMode.json).toMatchObject({ code: 999, msg: 'Container macvlan mode bridge does not match expected value: private' });
    ip('-n', (pods[0] as Netns).name, 'addr', 'del', '10.77.0.2/24', 'dev', 'eth0');
    const noAddr = await cni('CHECK', { node, pod: pods[0], id: 'mv-0', conf: { ...conf, prevResult: r0 } });
    expect(noAddr.json).toMatchObject({ code: 999, msg: 'Failed to match addr 10.77.0.2/24 on interface eth0' });

    for (const [i, pod] of pods.entries()) {
      const del = await cni('DEL', { node, pod, id: `mv-${i}`, conf });
      expect(del, del.stdout).toMatchObject({ code: 0, stdout: '' });
      expect(linkNames(pod)).toEqual([]);
    }
    expect(reservations(ipamBox, 'mvnet')).toEqual([]);
    expect(linkNames(node)).toEqual(['mst0', 'mst0p']);
    // DEL again, and DEL of a namespace that is gone
    expect((await cni('DEL', { node, pod: pods[0], id: 'mv-0', conf })).code).toBe(0);
    removeNetns((pods[1] as Netns).name);
    expect(await cni('DEL', { node, pod: pods[1], id: 'mv-1', conf })).toMatchObject({ code: 0, stdout: '' });
  });

  it('without master: the interface of the node namespace default route', async () => {
    const { node } = nodeWithMaster({ master: 'uplink0' });
    ip('-n', node.name, 'addr', 'add', '192.0.2.10/24', 'dev', 'uplink0');
    ip('-n', node.name, 'route', 'add', 'default', 'via', '192.0.2.1', 'dev', 'uplink0');
    const pod = makeNetns('pod');
    const conf = macvlanConf({ ipam: hostLocal() });
    const add = await cni('ADD', { node, pod, id: 'mv-default', conf });
    expect(add.code, add.stdout).toBe(0);
    const ifindex = ip('-n', node.name, '-o', 'link', 'show', 'uplink0').split(':')[0];
    expect(String(linkOf(pod, 'eth0')?.link_index)).toBe(ifindex);
    expect(await cni('CHECK', { node, pod, id: 'mv-default', conf: { ...conf, prevResult: add.json } })).toMatchObject({ code: 0 });
    expect((await cni('DEL', { node, pod, id: 'mv-default', conf })).code).toBe(0);
    // no default route at all: a clear error, nothing made
    ip('-n', node.name, 'route', 'del', 'default');
    const none = await cni('ADD', { node, pod, id: 'mv-none', conf });
    expect(none.json).toMatchObject({ code: 999, msg: 'no default route interface found' });
    expect(linkNames(pod)).toEqual([]);
  });

  it('without IPAM: the link up with no address; MAC from runtimeConfig over CNI_ARGS over the config; mode, mtu and bcqueuelen', async () => {
    const { node, master } = nodeWithMaster({ mtu: 9000 });
    const pod = makeNetns('pod');
    const conf = macvlanConf({
      master,
      extra: { mode: 'private', mtu: 8000, bcqueuelen: 2000, mac: '02:00:00:00:00:01', runtimeConfig: { mac: '02:00:00:00:00:03' } },
    });
    const add = await cni('ADD', { node, pod, id: 'mv-l2', conf, args: 'IgnoreUnknown=1;MAC=02:00:00:00:00:02' });
    expect(add.code, add.stdout).toBe(0);
    expect(add.json).toEqual({ cniVersion: '1.0.0', interfaces: [{ name: 'eth0', mac: '02:00:00:00:00:03', sandbox: pod.path }] });
    expect(linkOf(pod, 'eth0')).toMatchObject({
      flags: expect.arrayContaining(['UP']),
      mtu: 8000,
      linkinfo: { info_data: { mode: 'private', bcqueuelen: 2000 } },
    });
    expect(cidrsOf(pod, 'eth0')).toEqual([]);
    const noRuntime = { ...conf, runtimeConfig: undefined };
    expect((await cni('DEL', { node, pod, id: 'mv-l2', conf })).code).toBe(0);
    const args = await cni('ADD', { node, pod, id: 'mv-l2', conf: noRuntime, args: 'IgnoreUnknown=1;MAC=02:00:00:00:00:02' });
    expect(args.json).toMatchObject({ interfaces: [{ mac: '02:00:00:00:00:02' }] });
    expect((await cni('DEL', { node, pod, id: 'mv-l2', conf: noRuntime })).code).toBe(0);
  });

  it('linkInContainer: the master is looked up, and the link made, in the pod namespace', async () => {
    const node = makeNetns('node');
    const pod = makeNetns('pod');
    ip('-n', pod.name, 'link', 'add', 'inner0', 'type', 'veth', 'peer', 'name', 'inner1');
    ip('-n', pod.name, 'link', 'set', 'inner0', 'up');
    ip('-n', pod.name, 'link', 'set', 'inner1', 'up');
    const conf = macvlanConf({ master: 'inner0', ipam: hostLocal(), extra: { linkInContainer: true } });
    const add = await cni('ADD', { node, pod, id: 'mv-in', conf });
    expect(add.code, add.stdout).toBe(0);
    const link = linkOf(pod, 'eth0');
    expect(link?.link_netnsid).toBeUndefined();
    expect(link?.linkinfo?.info_kind).toBe('macvlan');
    expect(await cni('CHECK', { node, pod, id: 'mv-in', conf: { ...conf, prevResult: add.json } })).toMatchObject({ code: 0 });
    expect((await cni('DEL', { node, pod, id: 'mv-in', conf })).code).toBe(0);
    expect(linkNames(pod)).toEqual(['inner0', 'inner1']);
  });
});

describe('macvlan bad input', () => {
  it('each gets its code and a message naming the problem, and leaves no link and no reservation', async () => {
    const { node, master } = nodeWithMaster({ mtu: 1500 });
    const pod = makeNetns('pod');
    const ipamBox = sandbox();
    const dataDir = ipamBox.dataDir;
    const base = macvlanConf({ master, ipam: hostLocal('10.77.0.0/24', dataDir) });
    const cases: RefusedCase[] = [
      [{ mtu: 1501 }, 7, /^mtu: invalid MTU 1501, must be \[0, master MTU\(1500\)\]/],
      [{ mtu: -1 }, 7, /^mtu: /],
      [{ mode: 'bridged' }, 7, /^mode: unknown macvlan mode: "bridged"/],
      [{ master: 'nosuch0' }, 999, /failed to lookup master "nosuch0"/],
      [{ mac: 'not-a-mac' }, 7, /^mac: invalid MAC address "not-a-mac"/],
      [{ bcqueuelen: -5 }, 7, /^bcqueuelen: /],
      [{}, 7, /^mac: invalid MAC address "zz"/, 'IgnoreUnknown=1;MAC=zz'],
      // the pod already has the name: the temporary link is deleted again, the address released
      [{ ifname: 'lo' }, 999, /container interface "lo" already exists/],
      // past IPAM: the kernel refuses a route (unreachable gateway): IPAM released, link deleted
      [{ ipam: { ...base.ipam, routes: [{ dst: '10.9.0.0/16', gw: '192.0.2.1' }] } }, 999, /route add 10\.9\.0\.0\/16 via 192\.0\.2\.1/],
    ];
    await expectRefused({ node, pod, box: ipamBox, net: 'mvnet', conf: (extra) => ({ ...base, ...extra }), cases });
  });
});

describe('macvlan STATUS', () => {
  it("is the IPAM plugin's STATUS, and success without IPAM", async () => {
    const node = makeNetns('node');
    const status = (conf: unknown) => cni('STATUS', { node, id: '', conf });
    const conf = { ...macvlanConf({ master: 'any0', ipam: hostLocal() }), cniVersion: '1.1.0' };
    expect(await status(conf)).toMatchObject({ code: 0, stdout: '' });
    expect(await status({ ...conf, ipam: undefined })).toMatchObject({ code: 0, stdout: '' });
    const missing = await status({ ...conf, ipam: { type: 'no-such-ipam' } });
    expect(missing.json).toMatchObject({ msg: expect.stringContaining('no-such-ipam') });
  });
});

describe('macvlan next to the reference binary', () => {
  it('same result shape and kernel state as /usr/lib/cni/macvlan; ours DELs what theirs ADDed', async () => {
    const seen: unknown[] = [];
    for (const bin of [REF_BIN, OUR_BIN]) {
      const { node, master } = nodeWithMaster();
      const pod = makeNetns('pod');
      const ipamBox = sandbox();
      const dataDir = ipamBox.dataDir;
      const conf = macvlanConf({ master, ipam: hostLocal('10.77.0.0/24', dataDir), extra: { mode: 'vepa', mtu: 1400 } });
      const path = mixedPluginDir({ macvlan: bin === REF_BIN ? 'ref' : 'ours', 'host-local': 'ours' });
      const add = await cni('ADD', { node, pod, id: 'mv-ref', conf, binDir: path });
      expect(add.code, `${bin}: ${add.stdout}`).toBe(0);
      const { dns, ...json } = add.json as { interfaces: Array<{ mac: string; sandbox: string }>; dns?: object };
      // Debian's reference (1.1.1) prints an empty dns for 1.0.0, which newer libcni drops as we do
      expect(Object.keys(dns ?? {})).toEqual([]);
      expect(json.interfaces.map((i) => i.sandbox)).toEqual([pod.path]);
      const link = linkOf(pod, 'eth0');
      seen.push({
        result: { ...json, interfaces: json.interfaces.map((i) => ({ ...i, mac: 'x', sandbox: 'x' })) },
        link: { kind: link?.linkinfo?.info_kind, mode: link?.linkinfo?.info_data?.mode, mtu: link?.mtu, up: link?.operstate },
        addrs: cidrsOf(pod, 'eth0'),
        routes: ip('-n', pod.name, 'route').trim(),
      });
      // ours DELs whatever made it
      const del = await cni('DEL', { node, pod, id: 'mv-ref', conf });
      expect(del.code, del.stdout).toBe(0);
      expect(linkNames(pod)).toEqual([]);
      expect(reservations(ipamBox, 'mvnet')).toEqual([]);
    }
    expect(seen[1]).toEqual(seen[0]);
  });
});

describe('macvlan through our runtime and libcni', () => {
  it('fastcni add/check/del of a macvlan conflist', async () => {
    const { node, master } = nodeWithMaster();
    const pod = makeNetns('pod');
    const s = sandbox();
    const { cniVersion, name, ...plugin } = macvlanConf({ master, ipam: hostLocal('10.77.0.0/24', s.dataDir) });
    writeFileSync(join(s.confDir, '10-mvnet.conflist'), JSON.stringify({ cniVersion, name, plugins: [plugin] }));
    const add = await fastcni(['add', 'mvnet', pod.name, '--json'], { node, env: s.env });
    expect(add.code, add.stderr).toBe(0);
    expect(cidrsOf(pod, 'eth0')).toEqual(['10.77.0.2/24']);
    expect((await fastcni(['check', 'mvnet', pod.name], { node, env: s.env })).code).toBe(0);
    expect((await fastcni(['del', 'mvnet', pod.name], { node, env: s.env })).code).toBe(0);
    expect(linkNames(pod)).toEqual([]);
  });

  it.skipIf(!haveCnitool)('cnitool add/check/del of a macvlan conflist', async () => {
    const { node, master } = nodeWithMaster();
    const pod = makeNetns('pod');
    const s = cnitoolSandbox();
    const { cniVersion, name, ...plugin } = macvlanConf({ master, ipam: hostLocal('10.77.0.0/24', s.dataDir) });
    writeFileSync(join(s.confDir, '10-mvnet.conflist'), JSON.stringify({ cniVersion, name, plugins: [plugin] }));
    const add = await cnitool(s, node, ['add', 'mvnet', pod.path]);
    expect(add.code, add.stderr).toBe(0);
    expect(linkOf(pod, 'eth0')?.linkinfo?.info_kind).toBe('macvlan');
    const check = await cnitool(s, node, ['check', 'mvnet', pod.path]);
    expect(check.code, check.stderr).toBe(0);
    const del = await cnitool(s, node, ['del', 'mvnet', pod.path]);
    expect(del.code, del.stderr).toBe(0);
    expect(linkNames(pod)).toEqual([]);
    expect(reservations(s, 'mvnet')).toEqual([]);
  });
});

describe('macvlan from a caller in a mount namespace of its own', () => {
  it('ADD, CHECK, DEL and a DEL of a namespace that is gone: same bytes through the agent, the fallback and in-process', async () => {
    const agent = await startAgentProcess();
    const dir = tempDir('private');
    const outputs: Record<CallPath, string[]> = { agent: [], fallback: [], 'in-process': [] };
    for (const path of ['agent', 'fallback', 'in-process'] as const) {
      const { node, master } = nodeWithMaster();
      const pod = makeNetns('pod');
      const caller = await privateCaller({ node, pod, dir });
      const ipamBox = sandbox();
      const dataDir = ipamBox.dataDir;
      const conf = macvlanConf({ master, ipam: hostLocal('10.77.0.0/24', dataDir), extra: { mac: '02:00:00:00:00:0a' } });
      const env = (command: string, netns = caller.netnsPath) => ({
        CNI_COMMAND: command,
        CNI_CONTAINERID: 'mv-private',
        CNI_IFNAME: 'eth0',
        CNI_NETNS: netns,
        CNI_PATH: OUR_BIN,
      });
      const call = (e: Record<string, string>, c: unknown = conf) =>
        callOnPath(path, { caller, plugin: 'macvlan', socketPath: agent.socketPath, env: e, conf: c });
      const add = await call(env('ADD'));
      expect(add, `${path} ADD`).toMatchObject({ code: 0, stderr: '' });
      expect(cidrsOf(pod, 'eth0')).toEqual(['10.77.0.2/24']);
      const check = await call(env('CHECK'), { ...conf, prevResult: JSON.parse(add.stdout) });
      expect(check, `${path} CHECK`).toEqual({ code: 0, stdout: '', stderr: '' });
      const del = await call(env('DEL'));
      expect(del, `${path} DEL`).toEqual({ code: 0, stdout: '', stderr: '' });
      expect(linkNames(pod)).toEqual([]);
      const gone = await call(env('DEL', join(caller.dir, 'netns', 'missing')));
      expect(gone, `${path} DEL of a missing namespace`).toEqual({ code: 0, stdout: '', stderr: '' });
      outputs[path].push(add.stdout);
    }
    expect(outputs.fallback).toEqual(outputs.agent);
    expect(outputs['in-process']).toEqual(outputs.agent);
  });
});
