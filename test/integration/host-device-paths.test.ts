// host-device the ways a runtime reaches it: our runtime (fastcni) and libcni (cnitool) with a
// conflist, and the agent, the launcher's fallback and the library in-process from a caller in a
// mount namespace of its own, with the same bytes on all three.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startAgentProcess } from '../helpers/agent.js';
import { cnitool, cnitoolSandbox, fastcni, haveCnitool, reservations, sandbox, type Sandbox } from '../helpers/cli.js';
import { nodeAndPod, tempDir } from '../helpers/fixtures.js';
import { DEVICE, DEVICE_MAC, hostDeviceConf, linkNames, linkState, nodeDevice } from '../helpers/host-device.js';
import type { Netns } from '../helpers/netns.js';
import { callOnPath, privateCaller, type CallPath } from '../helpers/private-caller.js';
import { OUR_BIN, type PluginRun } from '../helpers/run-plugin.js';

/** The network as a conflist in the sandbox's conf dir. */
function writeList(s: Sandbox): void {
  const { cniVersion, name, ...plugin } = hostDeviceConf({ dataDir: s.dataDir });
  writeFileSync(join(s.confDir, '10-hdnet.conflist'), JSON.stringify({ cniVersion, name, plugins: [plugin] }));
}

/** ADD (the device in the pod, addressed), CHECK, DEL (back in the node, the address released). */
async function addCheckDel(run: (verb: 'add' | 'check' | 'del') => Promise<PluginRun>, o: { s: Sandbox; node: Netns; pod: Netns }) {
  const add = await run('add');
  expect(add.code, add.stderr).toBe(0);
  expect(linkState(o.pod, 'eth0')).toMatchObject({ address: DEVICE_MAC, ifalias: DEVICE, up: true, addresses: ['10.77.0.2/24'] });
  expect(reservations(o.s, 'hdnet')).toEqual(['10.77.0.2']);
  const check = await run('check');
  expect(check.code, check.stderr).toBe(0);
  const del = await run('del');
  expect(del.code, del.stderr).toBe(0);
  expect(linkState(o.node, DEVICE)).toEqual({ ifname: DEVICE, address: DEVICE_MAC, up: false, addresses: [] });
  expect(linkNames(o.pod)).toEqual(['lo']);
  expect(reservations(o.s, 'hdnet')).toEqual([]);
  return add;
}

describe('host-device through a runtime', () => {
  it('through our runtime', async () => {
    const { node, pod } = nodeAndPod();
    nodeDevice(node);
    const s = sandbox();
    writeList(s);
    const add = await addCheckDel(
      (verb) => fastcni([verb, 'hdnet', pod.name, ...(verb === 'add' ? ['--json'] : [])], { node, env: s.env }),
      {
        s,
        node,
        pod,
      },
    );
    expect(add.json).toMatchObject({ interfaces: [{ name: 'eth0', mac: DEVICE_MAC, sandbox: pod.path }] });
  });

  it.skipIf(!haveCnitool)('through libcni (cnitool)', async () => {
    const { node, pod } = nodeAndPod();
    nodeDevice(node);
    const s = cnitoolSandbox();
    writeList(s);
    const add = await addCheckDel((verb) => cnitool(s, node, [verb, 'hdnet', pod.path]), { s, node, pod });
    expect(add.json).toMatchObject({ interfaces: [{ name: 'eth0', mac: DEVICE_MAC, sandbox: pod.path }] });
  });
});

/**
 * On one call path, from a fresh private caller at `dir`: ADD, CHECK, an ADD naming a device the
 * node lacks, DEL; checked in the kernel. Returns the two ADDs' stdout.
 */
async function viaPath(path: CallPath, socketPath: string, dir: string): Promise<string[]> {
  const { node, pod } = nodeAndPod();
  nodeDevice(node);
  const caller = await privateCaller({ node, pod, dir });
  // IPAM's files where only the caller sees them
  const conf = hostDeviceConf({ dataDir: join(dir, 'data-link', 'ipam') });
  const reserved = async () => (await caller.files(join('data', 'ipam', 'hdnet'))).filter((f) => f.endsWith('/10.77.0.2'));
  const call = (command: string, c: unknown) => {
    const env = { CNI_COMMAND: command, CNI_CONTAINERID: 'ctr-mnt', CNI_IFNAME: 'eth0', CNI_NETNS: caller.netnsPath, CNI_PATH: OUR_BIN };
    return callOnPath(path, { caller, plugin: 'host-device', socketPath, env, conf: c });
  };
  const add = await call('ADD', conf);
  expect(add, `${path} ADD`).toMatchObject({ code: 0, stderr: '' });
  expect(linkState(pod, 'eth0')).toMatchObject({ ifalias: DEVICE, up: true, addresses: ['10.77.0.2/24'] });
  expect(await reserved()).toHaveLength(1);
  const check = await call('CHECK', { ...conf, prevResult: JSON.parse(add.stdout) });
  expect(check, `${path} CHECK`).toEqual({ code: 0, stdout: '', stderr: '' });
  const missing = await call('ADD', { ...conf, device: 'hd9' });
  expect(missing.code, missing.stdout).toBe(1);
  expect(JSON.parse(missing.stdout)).toMatchObject({ code: 7, msg: expect.stringMatching(/^device: failed to find host device/) });
  const del = await call('DEL', conf);
  expect(del, `${path} DEL`).toEqual({ code: 0, stdout: '', stderr: '' });
  expect(linkState(node, DEVICE)).toMatchObject({ ifname: DEVICE, up: false });
  expect(await reserved()).toEqual([]);
  return [add.stdout, missing.stdout];
}

describe('host-device from a caller in a mount namespace of its own', () => {
  it('ADD, CHECK, DEL and a missing device: the same bytes through the agent, the fallback and in-process', async () => {
    const { socketPath } = await startAgentProcess();
    const dir = tempDir('private');
    const agent = await viaPath('agent', socketPath, dir);
    expect(await viaPath('fallback', socketPath, dir)).toEqual(agent);
    expect(await viaPath('in-process', socketPath, dir)).toEqual(agent);
  });
});
