// bandwidth chained after a bridge the way runtimes run it: through our runtime (the fastcni CLI)
// and through libcni (cnitool) after our bridge, and after the reference bridge and host-local at
// cniVersion 1.0.0; limits from the `bandwidth` capability. ADD shapes the bridge's host veth and
// adds the IFB, CHECK passes, DEL leaves nothing.
import { describe, expect, it } from 'vitest';
import { ifbName } from '../../plugins/bandwidth/index.js';
import { cnitoolContainerId } from '../../src/cli/invocation.js';
import { ifbs, qdiscs, shapingOf } from '../helpers/bandwidth.js';
import { cnitool, cnitoolSandbox, fastcni, haveCnitool, mixedPluginDir, sandbox, writeBridgeList } from '../helpers/cli.js';
import { nodeAndPod } from '../helpers/fixtures.js';
import type { Netns } from '../helpers/netns.js';
import type { PluginRun } from '../helpers/run-plugin.js';

const NONE = { qdiscs: [], ifbs: [] };

const BANDWIDTH = { type: 'bandwidth', capabilities: { bandwidth: true } };
const CAP_ARGS = JSON.stringify({
  bandwidth: { ingressRate: 8_000_000, ingressBurst: 800_000, egressRate: 4_000_000, egressBurst: 800_000 },
});

interface AddResult {
  interfaces: Array<{ name: string; mac?: string; sandbox?: string }>;
}

/** The ADD result names the IFB last; the kernel has both tbf qdiscs and the ingress redirect. */
function expectShaped(add: PluginRun, node: Netns, pod: Netns): void {
  expect(add.code, add.stderr + add.stdout).toBe(0);
  const { interfaces } = add.json as AddResult;
  const ifb = ifbName('testnet', cnitoolContainerId(pod.path));
  const [hostVeth] = interfaces.filter((i) => i.name.startsWith('veth'));
  expect(interfaces.at(-1)).toEqual({ name: ifb, mac: ifbs(node)[0]?.address });
  expect(qdiscs(node)).toMatchObject([
    { kind: 'tbf', dev: hostVeth!.name, root: true, options: { rate: 1_000_000, burst: 100_000 } },
    { kind: 'ingress', dev: hostVeth!.name },
    { kind: 'tbf', dev: ifb, root: true, options: { rate: 500_000, burst: 100_000 } },
  ]);
}

describe('bandwidth chained after a bridge', () => {
  it('through our runtime (fastcni add, check, del)', async () => {
    const { node, pod } = nodeAndPod();
    const s = sandbox();
    writeBridgeList(s, { extraPlugins: [BANDWIDTH] });
    const env = { ...s.env, CAP_ARGS };
    expectShaped(await fastcni(['add', 'testnet', pod.name, '--json'], { node, env }), node, pod);
    const check = await fastcni(['check', 'testnet', pod.name], { node, env });
    expect(check.code, check.stderr).toBe(0);
    const del = await fastcni(['del', 'testnet', pod.name], { node, env });
    expect(del.code, del.stderr).toBe(0);
    expect(shapingOf(node)).toEqual(NONE);
  });

  it.skipIf(!haveCnitool)('through libcni (cnitool add, check, del)', async () => {
    const { node, pod } = nodeAndPod();
    const s = cnitoolSandbox();
    writeBridgeList(s, { extraPlugins: [BANDWIDTH] });
    expectShaped(await cnitool(s, node, ['add', 'testnet', pod.path], { env: { CAP_ARGS } }), node, pod);
    const check = await cnitool(s, node, ['check', 'testnet', pod.path], { env: { CAP_ARGS } });
    expect(check.code, check.stderr).toBe(0);
    const del = await cnitool(s, node, ['del', 'testnet', pod.path], { env: { CAP_ARGS } });
    expect(del.code, del.stderr).toBe(0);
    expect(shapingOf(node)).toEqual(NONE);
  });

  it.skipIf(!haveCnitool)('after the reference bridge and host-local at cniVersion 1.0.0 (cnitool)', async () => {
    const { node, pod } = nodeAndPod();
    const s = cnitoolSandbox();
    writeBridgeList(s, { cniVersion: '1.0.0', extraPlugins: [BANDWIDTH] });
    const cniPath = mixedPluginDir({ bridge: 'ref', 'host-local': 'ref', bandwidth: 'ours' });
    const o = { cniPath, env: { CAP_ARGS } };
    expectShaped(await cnitool(s, node, ['add', 'testnet', pod.path], o), node, pod);
    const check = await cnitool(s, node, ['check', 'testnet', pod.path], o);
    expect(check.code, check.stderr).toBe(0);
    const del = await cnitool(s, node, ['del', 'testnet', pod.path], o);
    expect(del.code, del.stderr).toBe(0);
    expect(shapingOf(node)).toEqual(NONE);
  });
});
