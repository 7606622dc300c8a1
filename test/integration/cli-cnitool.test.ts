// fastcni and cnitool share attachments: same synthesised container ID, same cache, same printed result.
// cnitool's cache root is fixed at /var/lib/cni, so it runs in a private mount namespace where a temp
// directory is bind-mounted over /var/lib: the machine's own /var/lib/cni is never touched.
import { describe, expect, it } from 'vitest';
import { cnitoolContainerId } from '../../src/cli/invocation.js';
import { cacheFiles, cnitool, cnitoolSandbox, fastcni, haveCnitool, reservations, writeBridgeList, type Sandbox } from '../helpers/cli.js';
import { addrs, cidrsOf, nodeAndPod } from '../helpers/fixtures.js';
import type { Netns } from '../helpers/netns.js';
import { masqElements } from '../helpers/nft.js';

function expectClean(s: Sandbox, node: Netns, pod: Netns): void {
  expect(addrs(pod).filter((l) => l.ifname !== 'lo')).toEqual([]);
  expect(addrs(node).filter((l) => l.linkinfo?.info_kind === 'veth')).toEqual([]);
  expect(masqElements(node)).toEqual([]);
  expect(reservations(s)).toEqual([]);
  expect(cacheFiles(s)).toEqual([]);
}

/** Replace what differs between two attachments (MACs, veth name, pod address and path) to compare shapes. */
function shape(stdout: string, pod: Netns): string {
  return stdout
    .replace(/[0-9a-f]{2}(:[0-9a-f]{2}){5}/g, 'MAC')
    .replace(/veth[0-9a-f]{8}/g, 'VETH')
    .replace(/10\.99\.0\.\d+\/24/g, 'POD/24')
    .replaceAll(pod.path, 'NETNS');
}

describe.skipIf(!haveCnitool)('fastcni ⇄ cnitool', () => {
  it('cnitool add → fastcni list, check, del; printed results have the same bytes but for the per-pod values', async () => {
    const { node, pod } = nodeAndPod();
    const s = cnitoolSandbox();
    writeBridgeList(s);
    const add = await cnitool(s, node, ['add', 'testnet', pod.path]);
    expect(add.code, add.stderr).toBe(0);
    const id = cnitoolContainerId(pod.path);
    expect(cacheFiles(s)).toEqual([`testnet-${id}-eth0`]);

    const list = await fastcni(['list', '--json'], { node, env: s.env });
    expect((list.json as { attachments: unknown[] }).attachments).toEqual([
      { network: 'testnet', containerId: id, ifname: 'eth0', netns: pod.path, addresses: cidrsOf(pod, 'eth0') },
    ]);
    const check = await fastcni(['check', 'testnet', pod.name], { node, env: s.env });
    expect(check.code, check.stderr).toBe(0);
    const del = await fastcni(['del', 'testnet', pod.name], { node, env: s.env });
    expect(del.code, del.stderr).toBe(0);
    expectClean(s, node, pod);

    // the same attachment made by fastcni prints what cnitool printed
    const ours = await fastcni(['add', 'testnet', pod.name, '--json'], { node, env: s.env });
    expect(ours.code, ours.stderr).toBe(0);
    expect(shape(ours.stdout, pod)).toBe(shape(add.stdout, pod));

    // and cnitool deletes what fastcni added, from fastcni's cache entry
    const theirDel = await cnitool(s, node, ['del', 'testnet', pod.path]);
    expect(theirDel.code, theirDel.stderr).toBe(0);
    expectClean(s, node, pod);
  });
});
