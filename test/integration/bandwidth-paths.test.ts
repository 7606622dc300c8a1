// bandwidth through every way in — the launcher with the agent, the launcher's fallback to Node,
// the library in-process — from a caller in the node's network namespace and from one that also
// has a mount namespace of its own (CNI_NETNS a bind mount only it sees): the same bytes for ADD,
// CHECK, DEL and a bad config, and the kernel shaped each time.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadPlugin } from '../../src/plugins.js';
import { runLauncher, startAgentProcess } from '../helpers/agent.js';
import { bareVeth, ifbs, qdiscs } from '../helpers/bandwidth.js';
import { nodeAndPod, tempDir } from '../helpers/fixtures.js';
import type { Netns } from '../helpers/netns.js';
import { callOnPath, privateCaller, type CallPath } from '../helpers/private-caller.js';
import { OUR_BIN, type PluginRun } from '../helpers/run-plugin.js';

const LIMITS = { ingressRate: 8_000_000, ingressBurst: 800_000, egressRate: 4_000_000, egressBurst: 800_000 };

/** How one request reaches the plugin: from the node's namespace, or from a private caller there. */
type Runner = (path: CallPath, env: Record<string, string>, stdin: string) => Promise<PluginRun>;

function fromNode(node: Netns, socketPath: string): Runner {
  return async (path, env, stdin) => {
    if (path === 'in-process') {
      const plugin = (await loadPlugin('bandwidth'))!;
      const out = await plugin.invoke({ env, stdin, hostNetns: node.path, loadPlugin });
      return { code: out.exitCode, stdout: out.stdout, stderr: out.stderr };
    }
    const socket = path === 'agent' ? socketPath : join(tempDir('noagent'), 'agent.sock');
    return runLauncher({ plugin: 'bandwidth', env, stdin, socketPath: socket, nodeNs: node.name });
  };
}

describe('bandwidth: three paths, two callers, same bytes', () => {
  it('ADD, CHECK, DEL and a bad config', async () => {
    const agent = await startAgentProcess();
    // one mount point for every private caller, and the prevResult naming it, so that all outputs compare
    const dir = tempDir('private');
    const outputs: string[][] = [];
    for (const caller of ['node', 'private'] as const) {
      for (const path of ['agent', 'fallback', 'in-process'] as const) {
        const { node, pod } = nodeAndPod();
        const veth = bareVeth(node, pod);
        let run = fromNode(node, agent.socketPath);
        let netns = pod.path;
        if (caller === 'private') {
          const c = await privateCaller({ node, pod, dir });
          netns = c.netnsPath;
          run = (p, env, stdin) =>
            callOnPath(p, { caller: c, plugin: 'bandwidth', socketPath: agent.socketPath, env, conf: JSON.parse(stdin) });
        }
        const prevResult = {
          ...veth.prevResult,
          interfaces: veth.prevResult.interfaces.map((i) => (i.sandbox ? { ...i, sandbox: join(dir, 'netns', 'pod') } : i)),
        };
        const conf = { cniVersion: '1.0.0', name: 'bwpaths', type: 'bandwidth', ...LIMITS, prevResult };
        const env = (command: string) => ({
          CNI_COMMAND: command,
          CNI_CONTAINERID: 'ctr-paths',
          CNI_IFNAME: 'eth0',
          CNI_NETNS: netns,
          CNI_PATH: OUR_BIN,
        });
        const label = `${caller} ${path}`;
        const seen: string[] = [];

        const add = await run(path, env('ADD'), JSON.stringify(conf));
        expect(add, `${label} ADD`).toMatchObject({ code: 0, stderr: '' });
        expect(
          qdiscs(node).map((q) => `${q.kind} ${q.dev}`),
          label,
        ).toEqual(['tbf bwveth0', 'ingress bwveth0', `tbf ${ifbs(node)[0]?.ifname}`]);
        seen.push(add.stdout.replace(/"([0-9a-f]{2}:){5}[0-9a-f]{2}"/g, '"MAC"'));
        const check = await run(path, env('CHECK'), JSON.stringify(conf));
        expect(check, `${label} CHECK`).toEqual({ code: 0, stdout: '', stderr: '' });
        const del = await run(path, env('DEL'), JSON.stringify(conf));
        expect(del, `${label} DEL`).toMatchObject({ code: 0, stdout: '', stderr: '' });
        expect(ifbs(node), label).toEqual([]);
        const bad = await run(path, env('ADD'), JSON.stringify({ ...conf, egressRate: 0 }));
        expect(bad.code, `${label} bad`).toBe(1);
        seen.push(bad.stdout);
        outputs.push(seen);
      }
    }
    expect(JSON.parse(outputs[0]![1]!)).toMatchObject({ code: 7, msg: 'egressRate: if burst is set, rate must also be set' });
    for (const o of outputs.slice(1)) expect(o).toEqual(outputs[0]);
  });
});
