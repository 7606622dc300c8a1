// The host-device plugin with a veth end of the node namespace playing the device (its peer in a
// namespace of its own): ADD by name and by MAC, ping through it, CHECK, DEL back to the node, DEL
// after the pod namespace is gone, interop with the reference binary both ways, bad inputs.
import { describe, expect, it } from 'vitest';
import { reservations, sandbox } from '../helpers/cli.js';
import { cni, nodeAndPod } from '../helpers/fixtures.js';
import { DEVICE, DEVICE_MAC, FAR_ADDRESS, hostDeviceConf, linkNames, linkState, nodeDevice, SUBNET } from '../helpers/host-device.js';
import { inNs, ip, makeNetns, removeNetns, type Netns } from '../helpers/netns.js';
import { REF_BIN } from '../helpers/run-plugin.js';

interface Added {
  cniVersion: string;
  interfaces: Array<{ name: string; mac?: string; sandbox?: string }>;
  ips?: Array<{ address: string; interface?: number; gateway?: string }>;
  dns?: unknown;
}

/** The device in the pod as eth0: up, the IPAM address, its node name as alias; gone from the node. */
function expectInPod(node: Netns, pod: Netns, address?: string): void {
  expect(linkState(pod, 'eth0')).toEqual({
    ifname: 'eth0',
    address: DEVICE_MAC,
    ifalias: DEVICE,
    up: true,
    addresses: address ? [address] : [],
  });
  expect(linkNames(node)).not.toContain(DEVICE);
}

/** The device back in the node under its name, without alias, down (its state before ADD is not known), unaddressed. */
function expectBackInNode(node: Netns, pod: Netns): void {
  expect(linkState(node, DEVICE)).toEqual({ ifname: DEVICE, address: DEVICE_MAC, up: false, addresses: [] });
  expect(linkNames(pod)).toEqual(['lo']);
}

function ping(pod: Netns, address: string): boolean {
  try {
    inNs(pod.name, 'ping', '-c', '1', '-W', '2', address);
    return true;
  } catch {
    return false;
  }
}

describe('host-device', () => {
  it('ADD by name with IPAM: moved, renamed, addressed, reachable; CHECK; DEL moves it back', async () => {
    const { node, pod } = nodeAndPod();
    nodeDevice(node);
    const s = sandbox();
    const conf = hostDeviceConf({ dataDir: s.dataDir, extra: { dns: { nameservers: ['10.77.0.53'] } } });
    const add = await cni('ADD', { node, pod, id: 'ctr-hd', conf });
    expect(add.code, add.stdout).toBe(0);
    expect(add.json).toEqual({
      cniVersion: '1.0.0',
      interfaces: [{ name: 'eth0', mac: DEVICE_MAC, sandbox: pod.path }],
      ips: [{ address: '10.77.0.2/24', gateway: '10.77.0.1', interface: 0 }],
      dns: { nameservers: ['10.77.0.53'] },
    });
    expectInPod(node, pod, '10.77.0.2/24');
    expect(reservations(s, 'hdnet')).toEqual(['10.77.0.2']);
    expect(ping(pod, FAR_ADDRESS)).toBe(true);

    const check = await cni('CHECK', { node, pod, id: 'ctr-hd', conf: { ...conf, prevResult: add.json } });
    expect(check, check.stdout).toMatchObject({ code: 0, stdout: '' });
    // CHECK sees an address that went missing
    ip('-n', pod.name, 'addr', 'del', '10.77.0.2/24', 'dev', 'eth0');
    const bad = await cni('CHECK', { node, pod, id: 'ctr-hd', conf: { ...conf, prevResult: add.json } });
    expect(bad.code).toBe(1);
    expect(bad.json).toMatchObject({ code: 999, msg: 'Failed to match addr 10.77.0.2/24 on interface eth0' });

    const del = await cni('DEL', { node, pod, id: 'ctr-hd', conf });
    expect(del, del.stdout).toMatchObject({ code: 0, stdout: '' });
    expectBackInNode(node, pod);
    expect(reservations(s, 'hdnet')).toEqual([]);
    const again = await cni('DEL', { node, pod, id: 'ctr-hd', conf });
    expect(again.code, again.stdout).toBe(0);
  });

  it('ADD by hwaddr without IPAM: the interface only; DEL', async () => {
    const { node, pod } = nodeAndPod();
    nodeDevice(node);
    const conf = hostDeviceConf({ dataDir: '', ipam: false, select: { hwaddr: DEVICE_MAC.toUpperCase() } });
    const add = await cni('ADD', { node, pod, id: 'ctr-mac', conf });
    expect(add.code, add.stdout).toBe(0);
    expect(add.json).toEqual({ cniVersion: '1.0.0', interfaces: [{ name: 'eth0', mac: DEVICE_MAC, sandbox: pod.path }] });
    expectInPod(node, pod);
    const check = await cni('CHECK', { node, pod, id: 'ctr-mac', conf: { ...conf, prevResult: add.json } });
    expect(check.code, check.stdout).toBe(0);
    const del = await cni('DEL', { node, pod, id: 'ctr-mac', conf });
    expect(del.code, del.stdout).toBe(0);
    expectBackInNode(node, pod);
  });

  it('DEL after the pod namespace is gone: success, the address released (the kernel destroyed the veth with the namespace)', async () => {
    const { node, pod } = nodeAndPod();
    const { far } = nodeDevice(node);
    const s = sandbox();
    const conf = hostDeviceConf({ dataDir: s.dataDir });
    const add = await cni('ADD', { node, pod, id: 'ctr-gone', conf });
    expect(add.code, add.stdout).toBe(0);
    expect(reservations(s, 'hdnet')).toEqual(['10.77.0.2']);
    removeNetns(pod.name);
    // A physical device would go back to the initial namespace; a veth is destroyed, its peer too.
    await expect.poll(() => linkNames(far)).toEqual(['lo']);
    expect(linkNames(node)).not.toContain(DEVICE);
    const del = await cni('DEL', { node, pod, id: 'ctr-gone', conf });
    expect(del, del.stdout).toMatchObject({ code: 0, stdout: '' });
    expect(reservations(s, 'hdnet')).toEqual([]);
    const noNetns = await cni('DEL', { node, netnsPath: '', id: 'ctr-gone', conf });
    expect(noNetns.code, noNetns.stdout).toBe(0);
  });

  it('interop with the reference: theirs ADD, ours DEL, and ours ADD, theirs DEL; the same result and kernel state', async () => {
    const { node, pod } = nodeAndPod();
    nodeDevice(node);
    const s = sandbox();
    const conf = hostDeviceConf({ dataDir: s.dataDir });
    const theirs = await cni('ADD', { node, pod, id: 'ctr-i', conf, binDir: REF_BIN });
    expect(theirs.code, theirs.stdout).toBe(0);
    expectInPod(node, pod, '10.77.0.2/24');
    const ourDel = await cni('DEL', { node, pod, id: 'ctr-i', conf });
    expect(ourDel.code, ourDel.stdout).toBe(0);
    expectBackInNode(node, pod);
    expect(reservations(s, 'hdnet')).toEqual([]);

    ip('-n', node.name, 'link', 'set', DEVICE, 'up');
    // a fresh IPAM directory: host-local would go on from its last address otherwise
    const s2 = sandbox();
    const conf2 = hostDeviceConf({ dataDir: s2.dataDir });
    const ours = await cni('ADD', { node, pod, id: 'ctr-i', conf: conf2 });
    expect(ours.code, ours.stdout).toBe(0);
    // Debian's reference prints an empty "dns": {} that newer libcni (and we) leave out
    const { dns, ...theirResult } = theirs.json as Added;
    expect(dns).toEqual({});
    expect(ours.json).toEqual(theirResult);
    expectInPod(node, pod, '10.77.0.2/24');
    const theirDel = await cni('DEL', { node, pod, id: 'ctr-i', conf: conf2, binDir: REF_BIN, path: REF_BIN });
    expect(theirDel.code, theirDel.stdout).toBe(0);
    // the reference (Debian's v1.1.1) restores the name from our alias; it leaves the alias set
    expect(linkState(node, DEVICE)).toMatchObject({ ifname: DEVICE, addresses: [] });
    expect(linkNames(pod)).toEqual(['lo']);
    expect(reservations(s2, 'hdnet')).toEqual([]);
  });
  it("STATUS is the IPAM plugin's", async () => {
    const { node } = nodeAndPod();
    const s = sandbox();
    const conf = { ...hostDeviceConf({ dataDir: s.dataDir }), cniVersion: '1.1.0' };
    const ok = await cni('STATUS', { node, id: '', conf });
    expect(ok, ok.stdout).toMatchObject({ code: 0, stdout: '' });
    const missing = await cni('STATUS', { node, id: '', conf: { ...conf, ipam: { type: 'fcni-no-such-ipam' } } });
    expect(missing.code).toBe(1);
    expect((missing.json as { msg: string }).msg).toMatch(/fcni-no-such-ipam/);
  });
});

describe('host-device bad input: the code, nothing moved, nothing reserved', () => {
  async function refused(o: { conf: Record<string, unknown>; node: Netns; pod: Netns; dataDir: string; ifname?: string }) {
    const res = await cni('ADD', { node: o.node, pod: o.pod, id: 'bad', ifname: o.ifname, conf: o.conf });
    expect(res.code, res.stdout).toBe(1);
    expect(reservations({ dataDir: o.dataDir } as never, 'hdnet')).toEqual([]);
    return res.json as { code: number; msg: string };
  }

  it('no device field, two fields, a device the node does not have', async () => {
    const { node, pod } = nodeAndPod();
    nodeDevice(node);
    const s = sandbox();
    const before = linkState(node, DEVICE);
    const { device: _d, ...none } = hostDeviceConf({ dataDir: s.dataDir });
    expect(await refused({ conf: none, node, pod, dataDir: s.dataDir })).toEqual({
      code: 7,
      msg: 'specify either "device", "hwaddr", "kernelpath" or "pciBusID"',
    });
    const two = hostDeviceConf({ dataDir: s.dataDir, select: { device: DEVICE, hwaddr: DEVICE_MAC } });
    expect(await refused({ conf: two, node, pod, dataDir: s.dataDir })).toMatchObject({
      code: 7,
      msg: expect.stringMatching(/^hwaddr: the device is already named by "device"/),
    });
    const missing = hostDeviceConf({ dataDir: s.dataDir, select: { device: 'hd9' } });
    expect(await refused({ conf: missing, node, pod, dataDir: s.dataDir })).toEqual({
      code: 7,
      msg: 'device: failed to find host device: no link "hd9" in the node\'s network namespace (missing, or moved into a pod already)',
    });
    const noMac = hostDeviceConf({ dataDir: s.dataDir, select: { hwaddr: '02:fc:00:00:0d:99' } });
    expect((await refused({ conf: noMac, node, pod, dataDir: s.dataDir })).msg).toMatch(
      /^hwaddr: failed to find host device: no link with MAC/,
    );
    expect(linkState(node, DEVICE)).toEqual(before);
    expect(linkNames(pod)).toEqual(['lo']);
  });

  it('a device already in a pod, and a pod that already has the interface name', async () => {
    const { node, pod } = nodeAndPod();
    nodeDevice(node);
    const s = sandbox();
    const conf = hostDeviceConf({ dataDir: s.dataDir });
    const first = await cni('ADD', { node, pod, id: 'first', conf });
    expect(first.code, first.stdout).toBe(0);
    const other = makeNetns('pod2');
    const inUse = await cni('ADD', { node, pod: other, id: 'second', conf });
    expect(inUse.code).toBe(1);
    expect(inUse.json).toMatchObject({
      code: 7,
      msg: `device: failed to find host device: no link "${DEVICE}" in the node's network namespace (missing, or moved into a pod already)`,
    });
    expect(reservations(s, 'hdnet')).toEqual(['10.77.0.2']);
    expect(linkNames(other)).toEqual(['lo']);
    expect(linkState(pod, 'eth0')).toMatchObject({ ifalias: DEVICE, up: true });
    const del = await cni('DEL', { node, pod, id: 'first', conf });
    expect(del.code, del.stdout).toBe(0);

    // the pod's name is taken: the device goes back to the node as it was, up, no alias; IPAM never ran
    ip('-n', node.name, 'link', 'set', DEVICE, 'up');
    ip('-n', other.name, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'x0');
    const taken = await cni('ADD', { node, pod: other, id: 'third', conf });
    expect(taken.code).toBe(1);
    expect((taken.json as { msg: string }).msg).toMatch(/^failed to move "hd0" into the pod as "eth0": move to pod netns: /);
    expect(linkState(node, DEVICE)).toEqual({ ifname: DEVICE, address: DEVICE_MAC, up: true, addresses: [] });
    expect(reservations(s, 'hdnet')).toEqual([]);
  });

  it('a device that cannot leave its namespace (a bridge): code 7, still in the node', async () => {
    const { node, pod } = nodeAndPod();
    const s = sandbox();
    ip('-n', node.name, 'link', 'add', 'hdbr0', 'type', 'bridge');
    const res = await refused({ conf: hostDeviceConf({ dataDir: s.dataDir, select: { device: 'hdbr0' } }), node, pod, dataDir: s.dataDir });
    expect(res).toMatchObject({
      code: 7,
      msg: expect.stringMatching(/^failed to move "hdbr0" into the pod as "eth0": move to temporary netns: /),
    });
    expect(linkState(node, 'hdbr0')).toMatchObject({ ifname: 'hdbr0' });
    expect(linkNames(pod)).toEqual(['lo']);
  });

  it('a route the pod cannot add: IPAM released, the device back in the node', async () => {
    const { node, pod } = nodeAndPod();
    nodeDevice(node);
    const s = sandbox();
    const ipam = { type: 'host-local', subnet: SUBNET, dataDir: s.dataDir, routes: [{ dst: '10.200.0.0/16', gw: '10.99.0.1' }] };
    const res = await refused({ conf: hostDeviceConf({ dataDir: s.dataDir, extra: { ipam } }), node, pod, dataDir: s.dataDir });
    expect(res.msg).toMatch(/10\.200\.0\.0\/16/);
    expect(linkState(node, DEVICE)).toEqual({ ifname: DEVICE, address: DEVICE_MAC, up: true, addresses: [] });
    expect(linkNames(pod)).toEqual(['lo']);
  });

  it('an IPAM failure after the move puts the device back, up as it was', async () => {
    const { node, pod } = nodeAndPod();
    nodeDevice(node);
    const s = sandbox();
    // host-local refuses the range only once it runs, after the device moved in
    const conf = hostDeviceConf({
      dataDir: s.dataDir,
      extra: { ipam: { type: 'host-local', subnet: '10.77.0.0/33', dataDir: s.dataDir } },
    });
    const res = await cni('ADD', { node, pod, id: 'ipam-bad', conf });
    expect(res.code, res.stdout).toBe(1);
    expect(res.json).toMatchObject({ code: 7, msg: expect.stringContaining('10.77.0.0/33') });
    expect(linkState(node, DEVICE)).toEqual({ ifname: DEVICE, address: DEVICE_MAC, up: true, addresses: [] });
    expect(linkNames(pod)).toEqual(['lo']);
  });
});
