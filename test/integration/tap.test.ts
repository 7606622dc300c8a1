// The tap plugin: ADD→CHECK→DEL with owner, group, multi-queue, MTU, MAC, a bridge inside the pod
// and an IPAM address, checked with ip(8) and sysfs; frames read from and written into the tap by a
// process attached to it (a ping answered through it); bad input leaving no tap and no
// reservation; DEL of what is gone; through our runtime and libcni (cnitool); and the agent, the
// fallback and in-process from a caller in a mount namespace of its own, byte for byte.
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startAgentProcess } from '../helpers/agent.js';
import { cnitool, cnitoolSandbox, fastcni, haveCnitool, reservations, sandbox } from '../helpers/cli.js';
import { cidrsOf, cni, nodeAndPod, tempDir } from '../helpers/fixtures.js';
import { ip, removeNetns, type Netns } from '../helpers/netns.js';
import { callOnPath, privateCaller, type CallPath } from '../helpers/private-caller.js';
import { OUR_BIN } from '../helpers/run-plugin.js';
import { pingThroughTap, podLinks, tunLink, tunOwnership } from '../helpers/tap.js';

function tapConf(dataDir: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    cniVersion: '1.0.0',
    name: 'tapnet',
    type: 'tap',
    ipam: { type: 'host-local', subnet: '10.98.0.0/24', routes: [{ dst: '0.0.0.0/0' }], dataDir },
    ...extra,
  };
}

/** Address files host-local keeps for the network. */
function reserved(dataDir: string): string[] {
  const dir = join(dataDir, 'tapnet');
  return existsSync(dir) ? readdirSync(dir).filter((f) => /^\d+\.\d+\.\d+\.\d+$/.test(f)) : [];
}

function withBridge(pod: Netns, name = 'br0'): void {
  ip('-n', pod.name, 'link', 'add', name, 'type', 'bridge');
}

describe('tap', () => {
  it('ADD makes the tap as asked (owner, group, multi-queue, MTU, MAC, bridge, address), CHECK passes, DEL removes it and the reservation', async () => {
    const { node, pod } = nodeAndPod();
    withBridge(pod);
    const dataDir = tempDir('ipam');
    const conf = tapConf(dataDir, { owner: 54321, group: 54322, multiQueue: true, mtu: 1400, mac: '02:11:22:33:44:55', bridge: 'br0' });
    const add = await cni('ADD', { node, pod, id: 'ctr-tap', ifname: 'tap0', conf });
    expect(add.code, add.stdout).toBe(0);
    expect(add.json).toEqual({
      cniVersion: '1.0.0',
      interfaces: [{ name: 'tap0', mac: '02:11:22:33:44:55', sandbox: pod.path }],
      ips: [{ address: '10.98.0.2/24', gateway: '10.98.0.1', interface: 0 }],
      routes: [{ dst: '0.0.0.0/0' }],
    });

    const link = tunLink(pod, 'tap0');
    expect(link).toMatchObject({ mtu: 1400, address: '02:11:22:33:44:55', master: 'br0' });
    expect(link?.flags).toContain('UP');
    expect(link?.linkinfo).toMatchObject({
      info_kind: 'tun',
      info_data: { type: 'tap', pi: false, vnet_hdr: true, multi_queue: true, persist: true },
    });
    expect(tunOwnership(pod, 'tap0')).toEqual({ owner: '54321', group: '54322' });
    expect(cidrsOf(pod, 'tap0')).toEqual(['10.98.0.2/24']);
    expect(ip('-n', pod.name, 'route', 'show', 'default')).toContain('default via 10.98.0.1 dev tap0');
    expect(ip('netns', 'exec', pod.name, 'cat', '/proc/sys/net/ipv4/conf/tap0/arp_notify').trim()).toBe('1');
    expect(reserved(dataDir)).toEqual(['10.98.0.2']);

    const checked = { ...conf, prevResult: add.json };
    expect(await cni('CHECK', { node, pod, id: 'ctr-tap', ifname: 'tap0', conf: checked })).toMatchObject({ code: 0, stdout: '' });
    ip('-n', pod.name, 'addr', 'del', '10.98.0.2/24', 'dev', 'tap0');
    const broken = await cni('CHECK', { node, pod, id: 'ctr-tap', ifname: 'tap0', conf: checked });
    expect(broken.json).toMatchObject({ code: 999, msg: 'Failed to match addr 10.98.0.2/24 on interface tap0' });

    const del = await cni('DEL', { node, pod, id: 'ctr-tap', ifname: 'tap0', conf: checked });
    expect(del).toMatchObject({ code: 0, stdout: '' });
    expect(podLinks(pod)).toEqual(['br0']);
    expect(reserved(dataDir)).toEqual([]);
    // again, and after the namespace is gone: nothing left to do is success
    expect(await cni('DEL', { node, pod, id: 'ctr-tap', ifname: 'tap0', conf: checked })).toMatchObject({ code: 0, stdout: '' });
    removeNetns(pod.name);
    expect(await cni('DEL', { node, pod, id: 'ctr-tap', ifname: 'tap0', conf: checked })).toMatchObject({ code: 0, stdout: '' });
    expect(existsSync(pod.path)).toBe(false);
  });

  it('without owner, group or IPAM: a tap nobody owns, up, no address (where the reference runs `ip tuntap`)', async () => {
    const { node, pod } = nodeAndPod();
    const conf = { cniVersion: '1.1.0', name: 'tapnet', type: 'tap' };
    const add = await cni('ADD', { node, pod, id: 'ctr-l2', conf });
    expect(add.code, add.stdout).toBe(0);
    const mac = tunLink(pod, 'eth0')?.address;
    expect(add.json).toEqual({ cniVersion: '1.1.0', interfaces: [{ name: 'eth0', mac, sandbox: pod.path }] });
    expect(tunLink(pod, 'eth0')?.linkinfo?.info_data).toMatchObject({ type: 'tap', multi_queue: false, persist: true });
    expect(tunOwnership(pod, 'eth0')).toEqual({ owner: '-1', group: '-1' });
    expect(tunLink(pod, 'eth0')?.flags).toContain('UP');
    expect(cidrsOf(pod, 'eth0')).toEqual([]);
    expect(await cni('CHECK', { node, pod, id: 'ctr-l2', conf: { ...conf, prevResult: add.json } })).toMatchObject({ code: 0 });
    expect(await cni('DEL', { node, pod, id: 'ctr-l2', conf })).toMatchObject({ code: 0, stdout: '' });
    expect(podLinks(pod)).toEqual([]);
  });

  it('GC is forwarded to IPAM: the reservation of an attachment that is not valid any more goes, a valid one stays', async () => {
    const dataDir = tempDir('ipam');
    const conf = tapConf(dataDir, { cniVersion: '1.1.0' });
    for (const id of ['ctr-keep', 'ctr-stale']) {
      const { node, pod } = nodeAndPod();
      expect((await cni('ADD', { node, pod, id, conf })).code).toBe(0);
    }
    expect(reserved(dataDir).sort()).toEqual(['10.98.0.2', '10.98.0.3']);
    const { node } = nodeAndPod();
    const gcConf = { ...conf, 'cni.dev/valid-attachments': [{ containerID: 'ctr-keep', ifname: 'eth0' }] };
    const gc = await cni('GC', { node, id: '', conf: gcConf });
    expect(gc.code, gc.stdout + gc.stderr).toBe(0);
    expect(reserved(dataDir)).toEqual(['10.98.0.2']);
  });

  it('read and write: a process attached to the tap reads the ARP and echo requests of a ping and writes the replies the pod receives', async () => {
    const { node, pod } = nodeAndPod();
    const conf = tapConf(tempDir('ipam'));
    const add = await cni('ADD', { node, pod, id: 'ctr-rw', conf });
    expect(add.code, add.stdout).toBe(0);
    const mac = tunLink(pod, 'eth0')?.address;
    const { ping, peer } = await pingThroughTap(pod, 'eth0', '10.98.0.9');
    expect(peer).toEqual(['attached', `read arp request from ${mac}`, 'read echo request', 'wrote echo reply']);
    expect(ping).toBe(0);
    expect((await cni('DEL', { node, pod, id: 'ctr-rw', conf })).code).toBe(0);
  });

  it('bad input: the right code and message, no tap left, no reservation', async () => {
    const { node, pod } = nodeAndPod();
    withBridge(pod, 'br0');
    ip('-n', pod.name, 'link', 'add', 'notbr', 'type', 'veth', 'peer', 'name', 'notbr-peer');
    const before = podLinks(pod);
    const dataDir = tempDir('ipam');
    const cases: Array<[Record<string, unknown>, number, RegExp, string?]> = [
      [{ mac: '02:11:22:33:44' }, 7, /^mac: invalid MAC address "02:11:22:33:44"/],
      [{ mac: '01:00:5e:00:00:01' }, 7, /^mac: 01:00:5e:00:00:01 is a multicast address/],
      [{ runtimeConfig: { mac: 'zz:11:22:33:44:55' } }, 7, /^runtimeConfig\.mac: invalid MAC address/],
      [{}, 7, /^CNI_ARGS MAC: invalid MAC address "nope"/, 'MAC=nope'],
      [{ mtu: 70000 }, 7, /^mtu: the largest MTU is 65535/],
      // the kernel's own limit (68 at least): refused with the kernel's reason, before IPAM
      [{ mtu: 50 }, 7, /failed to rename tap to "eth0": .*Invalid argument/],
      // IPAM fails after the tap is made: the tap is deleted again
      [{ ipam: { type: 'nosuch-ipam' } }, 999, /failed to find plugin "nosuch-ipam"/],
      [{ owner: -1 }, 7, /^owner: a uid is at least 0/],
      [{ owner: 4294967295 }, 7, /^owner: a uid is at most 4294967294/],
      [{ group: 1.5 }, 7, /^group: /],
      [{ bridge: 'br9' }, 7, /failed to get bridge br9: no such link in the pod's network namespace/],
      [{ bridge: 'notbr' }, 7, /failed to get bridge notbr: notbr is not a bridge/],
      [{ selinuxContext: 'system_u:system_r:container_t:s0' }, 2, /^unsupported field selinuxContext: /],
      [{ multiQueue: 'yes' }, 7, /^multiQueue: /],
    ];
    for (const [extra, code, msg, args] of cases) {
      const run = await cni('ADD', { node, pod, id: 'ctr-bad', conf: tapConf(dataDir, extra), args });
      const label = JSON.stringify(extra) + (args ?? '');
      expect(run.code, label).toBe(1);
      expect(run.json, label).toMatchObject({ code, msg: expect.stringMatching(msg) });
      expect(run.stdout, label).not.toMatch(/\n\s+at /);
      expect(podLinks(pod), label).toEqual(before);
      expect(reserved(dataDir), label).toEqual([]);
    }
    // an interface of that name already in the pod: refused, and the temporary tap is gone again
    ip('-n', pod.name, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth0-peer');
    const taken = await cni('ADD', { node, pod, id: 'ctr-bad', conf: tapConf(dataDir) });
    expect(taken.json).toMatchObject({ code: 999, msg: expect.stringMatching(/failed to rename tap to "eth0": .*File exists/) });
    expect(podLinks(pod).sort()).toEqual([...before, 'eth0-peer', 'eth0'].sort());
    expect(reserved(dataDir)).toEqual([]);
  }, 60_000);
});

describe('tap through runtimes', () => {
  it('our runtime: a conflist with tap and host-local, add, check, del', async () => {
    const { node, pod } = nodeAndPod();
    const s = sandbox();
    const { cniVersion, name, ...plugin } = tapConf(s.dataDir);
    writeFileSync(join(s.confDir, '10-tapnet.conflist'), JSON.stringify({ cniVersion, name, plugins: [plugin] }));
    const add = await fastcni(['add', 'tapnet', pod.name, '--json'], { node, env: s.env });
    expect(add.code, add.stderr).toBe(0);
    expect(add.json).toMatchObject({ interfaces: [{ name: 'eth0', sandbox: pod.path }], ips: [{ address: '10.98.0.2/24' }] });
    expect(tunLink(pod, 'eth0')?.linkinfo?.info_kind).toBe('tun');
    expect(reservations(s, 'tapnet')).toEqual(['10.98.0.2']);
    expect((await fastcni(['check', 'tapnet', pod.name], { node, env: s.env })).code).toBe(0);
    const del = await fastcni(['del', 'tapnet', pod.name], { node, env: s.env });
    expect(del.code, del.stderr).toBe(0);
    expect(podLinks(pod)).toEqual([]);
    expect(reservations(s, 'tapnet')).toEqual([]);
  });

  it.skipIf(!haveCnitool)('libcni (cnitool): add, check, del', async () => {
    const { node, pod } = nodeAndPod();
    const s = cnitoolSandbox();
    withBridge(pod);
    const { cniVersion, name, ...plugin } = tapConf(s.dataDir, { bridge: 'br0', mtu: 9000 });
    writeFileSync(join(s.confDir, '10-tapnet.conflist'), JSON.stringify({ cniVersion, name, plugins: [plugin] }));
    const add = await cnitool(s, node, ['add', 'tapnet', pod.path]);
    expect(add.code, add.stderr).toBe(0);
    expect(JSON.parse(add.stdout)).toMatchObject({ interfaces: [{ name: 'eth0', sandbox: pod.path }], ips: [{ address: '10.98.0.2/24' }] });
    expect(tunLink(pod, 'eth0')).toMatchObject({ mtu: 9000, master: 'br0' });
    const check = await cnitool(s, node, ['check', 'tapnet', pod.path]);
    expect(check.code, check.stderr).toBe(0);
    const del = await cnitool(s, node, ['del', 'tapnet', pod.path]);
    expect(del.code, del.stderr).toBe(0);
    expect(podLinks(pod)).toEqual(['br0']);
    expect(reservations(s, 'tapnet')).toEqual([]);
  });
});

describe('tap from a caller in a mount namespace of its own', () => {
  it('ADD, CHECK, DEL and a DEL of a namespace that is gone: same bytes through the agent, the fallback and in-process', async () => {
    const agent = await startAgentProcess();
    const dir = tempDir('private');
    const seen = new Map<CallPath, string[]>();
    for (const path of ['agent', 'fallback', 'in-process'] as const) {
      const { node, pod } = nodeAndPod();
      const caller = await privateCaller({ node, pod, dir });
      const missing = join(caller.dir, 'netns', 'missing');
      // IPAM data where only the caller sees it, through its own (absolute) symbolic link
      const conf = tapConf(join(caller.dir, 'data-link'), { mac: '02:00:00:00:00:07', mtu: 1280 });
      const run = (command: string, o: { netns?: string; prevResult?: unknown } = {}) => {
        const env = { CNI_COMMAND: command, CNI_CONTAINERID: 'ctr-private', CNI_IFNAME: 'eth0', CNI_PATH: OUR_BIN };
        const request = { caller, plugin: 'tap', socketPath: agent.socketPath, conf: { ...conf, prevResult: o.prevResult } };
        return callOnPath(path, { ...request, env: { ...env, CNI_NETNS: o.netns ?? caller.netnsPath } });
      };
      const add = await run('ADD');
      expect(add, `${path} ADD`).toMatchObject({ code: 0, stderr: '' });
      expect(tunLink(pod, 'eth0')).toMatchObject({ mtu: 1280, address: '02:00:00:00:00:07' });
      expect(await caller.files('data')).toContain(join(caller.dir, 'data', 'tapnet', '10.98.0.2'));
      const refused = await run('ADD', { netns: missing });
      expect(refused.code, `${path} ${refused.stdout}`).toBe(1);
      expect(refused.stdout).toContain(missing);
      expect(refused.stdout + refused.stderr).not.toContain('/proc/self/fd');
      // CHECK, DEL, and DEL again once the namespace is gone: silent successes
      for (const [command, o] of [
        ['CHECK', { prevResult: JSON.parse(add.stdout) }],
        ['DEL', {}],
        ['DEL', { netns: missing }],
      ] as const) {
        expect(await run(command, o), `${path} ${command} ${JSON.stringify(o)}`).toEqual({ code: 0, stdout: '', stderr: '' });
      }
      expect(podLinks(pod)).toEqual([]);
      seen.set(path, [add.stdout, refused.stdout]);
    }
    expect(seen.get('fallback')).toEqual(seen.get('agent'));
    expect(seen.get('in-process')).toEqual(seen.get('agent'));
  });
});
