// A runtime in a mount namespace of its own (containerd keeping pod namespaces under its state
// directory, a runtime in a container) names files that only it sees: the CNI_NETNS bind mount, the
// IPAM dataDir, a delegate in CNI_PATH. ADD, CHECK and DEL from such a caller, which also runs in a
// network namespace of its own (the node's), must give the same bytes through the launcher and the
// agent, through the launcher's fallback to Node, and through the library in-process; the kernel
// state must be right, and nothing may be left behind.
import { existsSync } from 'node:fs';
import { basename, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { agentStatus } from '../../src/agent/status.js';
import { startAgentProcess } from '../helpers/agent.js';
import { addrs, bridgeConf, bridgePorts, cidrsOf, nodeAndPod, tempDir } from '../helpers/fixtures.js';
import { hasMasqElement, masqElements } from '../helpers/nft.js';
import { callOnPath, privateCaller, type CallPath, type PrivateCaller } from '../helpers/private-caller.js';
import { OUR_BIN, type PluginRun } from '../helpers/run-plugin.js';

type Path = CallPath;

/**
 * Two attachments of one pod: one whose IPAM is ours (run in-process), with its dataDir through an
 * absolute symbolic link of the caller's; one whose IPAM only the caller has (the reference
 * host-local, exec'd, and where the caller would), with CNI_NETNS through such a link.
 */
const ATTACHMENTS = [
  {
    label: 'ours',
    ifname: 'eth0',
    bridge: 'fcnimnt0',
    subnet: '10.97.0.0/24',
    cniPath: () => OUR_BIN,
    netns: (c: PrivateCaller) => c.netnsPath,
    dataDir: (c: PrivateCaller) => join(c.dir, 'data-link', 'ours'),
  },
  {
    label: 'ref',
    ifname: 'net1',
    bridge: 'fcnimnt1',
    subnet: '10.97.1.0/24',
    cniPath: (c: PrivateCaller) => join(c.dir, 'bin'),
    netns: (c: PrivateCaller) => join(c.dir, 'ns-link', 'pod'),
    dataDir: (c: PrivateCaller) => join(c.dir, 'data', 'ref'),
  },
];

const isAddress = (file: string) => /^\d+\.\d+\.\d+\.\d+$/.test(basename(file));

/** One call of the bridge as the caller makes it, on the path under test. */
function call(path: Path, c: PrivateCaller, socketPath: string, env: Record<string, string>, conf: unknown): Promise<PluginRun> {
  return callOnPath(path, { caller: c, plugin: 'bridge', socketPath, env, conf });
}

describe('a caller in a mount namespace of its own', () => {
  it('ADD, CHECK and DEL give the same bytes through the agent, the fallback and in-process, and leave nothing', async () => {
    const agent = await startAgentProcess();
    // the mount point of each caller's private tmpfs: one path for all three, so that the results
    // (which name the caller's CNI_NETNS) can be compared byte for byte
    const dir = tempDir('private');
    const outputs: Record<Path, string[]> = { agent: [], fallback: [], 'in-process': [] };
    for (const path of ['agent', 'fallback', 'in-process'] as const) {
      const { node, pod } = nodeAndPod();
      const caller = await privateCaller({ node, pod, dir });
      // the machine (and so the agent) sees none of it
      expect(existsSync(join(dir, 'netns'))).toBe(false);
      const nets = ATTACHMENTS.map((a) => {
        const conf = bridgeConf({ name: `mnt-${a.label}`, bridge: a.bridge, subnet: a.subnet, dataDir: a.dataDir(caller) });
        const env = (command: string, netns = a.netns(caller)) => ({
          CNI_COMMAND: command,
          CNI_CONTAINERID: 'ctr-mnt',
          CNI_IFNAME: a.ifname,
          CNI_NETNS: netns,
          CNI_PATH: a.cniPath(caller),
        });
        return { ...a, conf, env };
      });
      for (const n of nets) {
        const add = await call(path, caller, agent.socketPath, n.env('ADD'), n.conf);
        expect(add, `${path} ${n.label} ADD`).toMatchObject({ code: 0, stderr: '' });
        const result = JSON.parse(add.stdout) as { ips: Array<{ address: string }>; interfaces: Array<{ sandbox?: string }> };
        const address = result.ips[0]!.address;
        // the kernel agrees, read with ip(8) and nft
        expect(cidrsOf(pod, n.ifname)).toEqual([address]);
        const ports = bridgePorts(node, n.bridge);
        expect(ports).toHaveLength(1);
        // in the caller's view only: the machine's has no such directory
        expect(existsSync(join(dir, 'data'))).toBe(false);
        expect(hasMasqElement(node, address.split('/')[0]!)).toBe(true);
        // the result names the namespace as the caller does; the reservation is in the caller's dataDir
        expect(result.interfaces[2]!.sandbox).toBe(n.netns(caller));
        expect((await caller.files(join('data', n.label))).filter(isAddress).map((f) => basename(f))).toEqual([address.split('/')[0]]);
        outputs[path].push(add.stdout.replace(/"([0-9a-f]{2}:){5}[0-9a-f]{2}"/g, '"MAC"').replaceAll(`"${ports[0]}"`, '"HOSTVETH"'));
        const check = await call(path, caller, agent.socketPath, n.env('CHECK'), { ...n.conf, prevResult: result });
        expect(check, `${path} ${n.label} CHECK`).toEqual({ code: 0, stdout: '', stderr: '' });
      }
      for (const n of nets.reverse()) {
        const del = await call(path, caller, agent.socketPath, n.env('DEL'), n.conf);
        expect(del, `${path} ${n.label} DEL`).toMatchObject({ code: 0, stdout: '', stderr: '' });
        expect(addrs(pod).find((l) => l.ifname === n.ifname)).toBeUndefined();
        expect(bridgePorts(node, n.bridge)).toEqual([]);
      }
      // failures name the caller's paths, as the caller wrote them
      const [ours] = nets.filter((n) => n.label === 'ours');
      const failures = [
        [ours!.env('ADD', join(caller.dir, 'netns', 'missing')), ours!.conf, join(caller.dir, 'netns', 'missing')],
        [ours!.env('ADD', join(caller.dir, 'ns-link')), ours!.conf, join(caller.dir, 'ns-link')],
        [
          ours!.env('ADD'),
          { ...ours!.conf, ipam: { ...(ours!.conf.ipam as object), resolvConf: join(caller.dir, 'no-resolv.conf') } },
          'no-resolv.conf',
        ],
      ] as const;
      for (const [env, conf, named] of failures) {
        const failed = await call(path, caller, agent.socketPath, env, conf);
        expect(failed.code, `${path} ${failed.stdout}`).toBe(1);
        expect(failed.stdout).toContain(named);
        expect(failed.stdout + failed.stderr).not.toContain('/proc/self/fd');
        outputs[path].push(failed.stdout);
      }
      // nothing left: links, addresses, reservations, masquerade elements
      expect(addrs(node).filter((l) => l.linkinfo?.info_kind === 'veth')).toEqual([]);
      expect(addrs(pod).map((l) => l.ifname)).toEqual(['lo']);
      expect((await caller.files('data')).filter(isAddress)).toEqual([]);
      expect(masqElements(node)).toEqual([]);
    }
    // each call went through the agent once (two ADDs and three failed ones), and only on its path
    const status = await agentStatus(agent.socketPath);
    expect(status.latency).toMatchObject({
      'bridge ADD': { count: 5, errors: 3 },
      'bridge CHECK': { count: 2, errors: 0 },
      'bridge DEL': { count: 2, errors: 0 },
    });
    expect(outputs.fallback).toEqual(outputs.agent);
    expect(outputs['in-process']).toEqual(outputs.agent);
  });
});
