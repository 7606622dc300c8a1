// The dhcp plugin on every way in: through the launcher and the agent, the launcher's fallback and
// the library in-process from a caller in a mount and network namespace of its own (same bytes);
// through our runtime and through cnitool with a conflist; bad inputs; and our bridge with the
// reference dhcp plugin and daemon, whose release needs the link at DEL.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it, onTestFinished } from 'vitest';
import { startAgentProcess } from '../helpers/agent.js';
import { cnitool, cnitoolSandbox, fastcni, haveCnitool, mixedPluginDir } from '../helpers/cli.js';
import { bridgePorts, cidrsOf, cni, tempDir } from '../helpers/fixtures.js';
import { makeNetns } from '../helpers/netns.js';
import { type CallPath, privateCaller, recordedCalls } from '../helpers/private-caller.js';
import type { PluginRun } from '../helpers/run-plugin.js';
import { clientIdHex, dhcpBridgeConf, dhcpLab, haveDnsmasq, podPort, SERVER_IP, startDhcpDaemon, waitFor } from '../helpers/dhcp.js';

const FIXED = '10.77.0.60';

describe.skipIf(!haveDnsmasq)('dhcp plugin paths', () => {
  it('ADD, CHECK, DEL and errors give the same bytes through the agent, the fallback and in-process', async () => {
    const id = 'ctr-dh';
    const conf = { cniVersion: '1.0.0', name: 'dhpaths', type: 'dhcp', ipam: { type: 'dhcp', daemonSocketPath: '' } };
    // the same address on every path: dnsmasq gives the client ID a fixed one
    const lab = await dhcpLab({ dnsmasqArgs: [`--dhcp-host=id:${clientIdHex(`${id}/dhpaths/eth0`)},${FIXED}`] });
    const daemon = await startDhcpDaemon(lab.dir);
    conf.ipam.daemonSocketPath = daemon.socketPath;
    const agent = await startAgentProcess();
    const dir = tempDir('private');
    const outputs: Record<CallPath, PluginRun[]> = { agent: [], fallback: [], 'in-process': [] };
    for (const path of ['agent', 'fallback', 'in-process'] as const) {
      const pod = makeNetns('dpod');
      podPort(lab, pod);
      const caller = await privateCaller({ node: lab.node, pod, dir });
      const run = recordedCalls(path, { caller, plugin: 'dhcp', socketPath: agent.socketPath, containerId: id, outputs });
      const add = await run('ADD', conf);
      expect(add, `${path} ADD`).toMatchObject({ code: 0, stderr: '' });
      const result = JSON.parse(add.stdout) as { ips: Array<{ address: string }> };
      expect(result.ips).toEqual([{ address: `${FIXED}/24`, gateway: SERVER_IP }]);
      expect(
        lab.leases().some((l) => l.includes(FIXED)),
        path,
      ).toBe(true);
      expect(await run('CHECK', { ...conf, prevResult: { cniVersion: '1.0.0', ...result } }), `${path} CHECK`).toEqual({
        code: 0,
        stdout: '',
        stderr: '',
      });
      expect(await run('DEL', conf), `${path} DEL`).toEqual({ code: 0, stdout: '', stderr: '' });
      await waitFor(`the release (${path})`, () => !lab.leases().some((l) => l.includes(FIXED)), 3000);
      // a bad field, and CHECK with no lease held
      expect((await run('ADD', { ...conf, ipam: { ...conf.ipam, provide: [{ option: 'nope', value: 'x' }] } })).code).toBe(1);
      expect((await run('CHECK', conf)).code).toBe(1);
    }
    expect(outputs.fallback).toEqual(outputs.agent);
    expect(outputs['in-process']).toEqual(outputs.agent);
    expect(JSON.parse(outputs.agent.at(-1)!.stdout)).toMatchObject({
      code: 999,
      msg: `the DHCP daemon holds no lease for ${id}/dhpaths/eth0`,
    });
  });

  it('through our runtime and through cnitool: a bridge + dhcp conflist', async () => {
    const lab = await dhcpLab();
    const daemon = await startDhcpDaemon(lab.dir);
    const s = cnitoolSandbox();
    const { cniVersion, name, ...plugin } = dhcpBridgeConf(daemon.socketPath, { name: 'dhlist' });
    writeFileSync(join(s.confDir, '10-dhlist.conflist'), JSON.stringify({ cniVersion, name, plugins: [plugin] }));
    for (const via of ['fastcni', 'cnitool'] as const) {
      if (via === 'cnitool' && !haveCnitool) continue;
      const pod = makeNetns('dpod');
      const add =
        via === 'fastcni'
          ? await fastcni(['add', 'dhlist', pod.name, '--json'], { node: lab.node, env: s.env })
          : await cnitool(s, lab.node, ['add', 'dhlist', pod.path]);
      expect(add.code, `${via}: ${add.stdout}${add.stderr}`).toBe(0);
      const address = (JSON.parse(add.stdout) as { ips: Array<{ address: string }> }).ips[0]!.address;
      expect(cidrsOf(pod, 'eth0')).toEqual([address]);
      const ip = address.split('/')[0]!;
      expect(lab.leases().some((l) => l.includes(ip))).toBe(true);
      const check =
        via === 'fastcni'
          ? await fastcni(['check', 'dhlist', pod.name], { node: lab.node, env: s.env })
          : await cnitool(s, lab.node, ['check', 'dhlist', pod.path]);
      expect(check.code, `${via}: ${check.stdout}${check.stderr}`).toBe(0);
      const del =
        via === 'fastcni'
          ? await fastcni(['del', 'dhlist', pod.name], { node: lab.node, env: s.env })
          : await cnitool(s, lab.node, ['del', 'dhlist', pod.path]);
      expect(del.code, `${via}: ${del.stdout}${del.stderr}`).toBe(0);
      await waitFor(`the release (${via})`, () => !lab.leases().some((l) => l.includes(ip)), 3000);
    }
  });

  it('bad input: no daemon → 11 naming the socket, a bad provide entry → 7 naming the field; nothing left', async () => {
    const lab = await dhcpLab();
    const pod = makeNetns('dpod');
    const missing = join(lab.dir, 'no-daemon.sock');
    const add = await cni('ADD', { node: lab.node, pod, id: 'dh-bad', conf: dhcpBridgeConf(missing) });
    expect(add.code).toBe(1);
    expect(add.json).toEqual({ code: 11, msg: `error dialing DHCP daemon at ${missing}: ENOENT (is \`fastcni dhcp-daemon\` running?)` });
    const status = await cni('STATUS', { node: lab.node, pod, id: 'dh-bad', conf: { ...dhcpBridgeConf(missing), cniVersion: '1.1.0' } });
    expect(status.json).toMatchObject({ code: 50, msg: expect.stringContaining(missing) });

    const daemon = await startDhcpDaemon(lab.dir);
    const bad = await cni('ADD', {
      node: lab.node,
      pod,
      id: 'dh-bad',
      conf: dhcpBridgeConf(daemon.socketPath, {
        ipam: {
          provide: [
            { option: 'host-name', value: 'a' },
            { option: 'bogus', fromArg: 'X' },
          ],
        },
      }),
    });
    expect(bad.code).toBe(1);
    expect(bad.json).toMatchObject({ code: 7, msg: expect.stringMatching(/^ipam\.provide\[1\]\.option: Can not parse option "bogus"/) });
    // nothing left: no pod link, no bridge port, no lease, no stored lease
    expect(cidrsOf(pod, 'eth0')).toEqual([]);
    expect(bridgePorts(lab.node, 'fcnidh0')).toEqual(['srvport']);
    expect(lab.leases()).toEqual([]);
    expect(readdirSync(daemon.stateDir)).toEqual([]);
    const ok = await cni('STATUS', {
      node: lab.node,
      pod,
      id: 'dh-bad',
      conf: { ...dhcpBridgeConf(daemon.socketPath), cniVersion: '1.1.0' },
    });
    expect(ok.code, ok.stdout).toBe(0);
  });

  it('GC releases the leases of attachments that are not valid any more, and only those', async () => {
    const lab = await dhcpLab();
    const daemon = await startDhcpDaemon(lab.dir);
    const conf = { cniVersion: '1.1.0', name: 'dhgc', type: 'dhcp', ipam: { type: 'dhcp', daemonSocketPath: daemon.socketPath } };
    const ips: string[] = [];
    for (const id of ['gc-keep', 'gc-stale']) {
      const pod = makeNetns('dpod');
      podPort(lab, pod);
      const add = await cni('ADD', { node: lab.node, pod, id, conf, plugin: 'dhcp' });
      expect(add.code, add.stdout).toBe(0);
      ips.push((JSON.parse(add.stdout) as { ips: Array<{ address: string }> }).ips[0]!.address.split('/')[0]!);
    }
    const gc = await cni('GC', {
      node: lab.node,
      id: '',
      conf: { ...conf, 'cni.dev/valid-attachments': [{ containerID: 'gc-keep', ifname: 'eth0' }] },
    });
    expect(gc.code, gc.stdout).toBe(0);
    await waitFor('the stale lease to be released', () => !lab.leases().some((l) => l.includes(ips[1]!)), 3000);
    expect(lab.leases().some((l) => l.includes(ips[0]!))).toBe(true);
    expect(
      daemon
        .logs()
        .filter((l) => l.msg === 'lease released')
        .map((l) => l.clientId),
    ).toEqual(['gc-stale/dhgc/eth0']);
  });

  it('our bridge with the reference dhcp plugin and daemon: DEL releases before the link goes', async () => {
    const lab = await dhcpLab();
    const socketPath = join(lab.dir, 'ref-dhcp.sock');
    const ref = spawn('/usr/lib/cni/dhcp', ['daemon', '-socketpath', socketPath], { stdio: 'ignore' });
    onTestFinished(() => {
      ref.kill('SIGKILL');
    });
    for (let i = 0; i < 200 && !existsSync(socketPath); i++) await sleep(25);
    const pod = makeNetns('dpod');
    const conf = dhcpBridgeConf(socketPath);
    const path = mixedPluginDir({ bridge: 'ours', dhcp: 'ref' });
    const add = await cni('ADD', { node: lab.node, pod, id: 'dh-ref', conf, binDir: path, plugin: 'bridge', path });
    expect(add.code, add.stdout).toBe(0);
    const ip = (JSON.parse(add.stdout) as { ips: Array<{ address: string }> }).ips[0]!.address.split('/')[0]!;
    expect(lab.leases().some((l) => l.includes(ip))).toBe(true);
    const del = await cni('DEL', { node: lab.node, pod, id: 'dh-ref', conf, binDir: path, plugin: 'bridge', path });
    expect(del.code, del.stdout).toBe(0);
    await waitFor('the reference daemon to release the lease', () => !lab.leases().some((l) => l.includes(ip)), 5000);
  });
});
