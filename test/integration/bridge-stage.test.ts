// The two-stage native bridge ADD (bridgeAddBegin → finish | abort): the first stage runs while the
// plugin's IPAM does, so whatever ends the ADD early must leave no veth behind.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ip } from '../helpers/netns.js';
import { addrs, bridgePorts, nodeAndPod } from '../helpers/fixtures.js';
import { FailureKind, bridgeAddBegin, type BridgeL3Request, type BridgeLinkRequest } from '../../src/native.js';
import { NativeError } from '../../src/spec/errors.js';

function linkRequest(node: { path: string }, pod: { path: string }, more: Partial<BridgeLinkRequest> = {}): BridgeLinkRequest {
  return {
    hostNetns: node.path,
    podNetns: pod.path,
    bridge: 'fcnibr0',
    promisc: false,
    vlanFiltering: false,
    ifname: 'eth0',
    hairpin: false,
    portIsolation: false,
    vlanTrunk: [],
    preserveDefaultVlan: false,
    enableDad: false,
    containerUp: true,
    ...more,
  };
}

const l3: BridgeL3Request = {
  addresses: ['10.97.0.5/24'],
  routes: [{ dst: '0.0.0.0/0', gw: '10.97.0.1' }],
  bridgeAddresses: ['10.97.0.1/24'],
  forceAddress: false,
  forwardV4: true,
  forwardV6: false,
};

async function failure(p: Promise<unknown>): Promise<NativeError> {
  const e = await p.then(
    () => undefined,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(NativeError);
  return e as NativeError;
}

describe('bridgeAddBegin', () => {
  it('finish completes the ADD; the stage cannot be finished or aborted again', async () => {
    const { node, pod } = nodeAndPod();
    const stage = bridgeAddBegin(linkRequest(node, pod));
    const links = await stage.finish(l3);
    expect(links.container.name).toBe('eth0');
    expect(bridgePorts(node, 'fcnibr0')).toEqual([links.hostVeth.name]);
    expect(
      addrs(pod)
        .find((l) => l.ifname === 'eth0')
        ?.addr_info?.map((a) => a.local),
    ).toContain('10.97.0.5');
    expect((await failure(stage.finish(l3))).message).toContain('already finished or aborted');
    expect((await failure(stage.abort())).message).toContain('already finished or aborted');
    expect(bridgePorts(node, 'fcnibr0')).toEqual([links.hostVeth.name]);
  });

  it('abort deletes the veth of the first stage (IPAM failed meanwhile)', async () => {
    const { node, pod } = nodeAndPod();
    ip('-n', node.name, 'link', 'add', 'fcnibr0', 'type', 'bridge');
    const stage = bridgeAddBegin(linkRequest(node, pod));
    // the first stage plugs the veth in without waiting for finish or abort
    const deadline = Date.now() + 5000;
    while (bridgePorts(node, 'fcnibr0').length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(bridgePorts(node, 'fcnibr0')).toHaveLength(1);
    await stage.abort();
    expect(bridgePorts(node, 'fcnibr0')).toEqual([]);
    expect(addrs(pod).find((l) => l.ifname === 'eth0')).toBeUndefined();
  });

  it('a bridge that does not exist yet is made by the second stage: abort leaves no bridge', async () => {
    const { node, pod } = nodeAndPod();
    await bridgeAddBegin(linkRequest(node, pod)).abort();
    expect(addrs(node).map((l) => l.ifname)).toEqual(['lo']);
    const links = await bridgeAddBegin(linkRequest(node, pod)).finish(l3);
    expect(bridgePorts(node, 'fcnibr0')).toEqual([links.hostVeth.name]);
  });

  it('a stage dropped without finish or abort is rolled back once it is garbage-collected', async () => {
    const { node, pod } = nodeAndPod();
    ip('-n', node.name, 'link', 'add', 'fcnibr0', 'type', 'bridge');
    // A separate Node whose only reference to the stage goes away; --expose-gc to collect it now.
    const script = `
      const { bridgeAddBegin, linkList } = await import(${JSON.stringify(join(process.cwd(), 'dist', 'src', 'native.js'))});
      const req = JSON.parse(process.argv[1]);
      const ports = async () => (await linkList(req.hostNetns)).filter((l) => l.master === 'fcnibr0').length;
      let stage = bridgeAddBegin(req);
      for (let i = 0; i < 100 && (await ports()) === 0; i++) await new Promise((r) => setTimeout(r, 10));
      const before = await ports();
      stage = undefined;
      for (let i = 0; i < 100 && (await ports()) > 0; i++) { globalThis.gc(); await new Promise((r) => setTimeout(r, 10)); }
      process.stdout.write(JSON.stringify({ before, after: await ports() }));
    `;
    const out = execFileSync(
      process.execPath,
      ['--expose-gc', '--input-type=module', '-e', script, JSON.stringify(linkRequest(node, pod))],
      { encoding: 'utf8' },
    );
    expect(JSON.parse(out)).toEqual({ before: 1, after: 0 });
    expect(bridgePorts(node, 'fcnibr0')).toEqual([]);
    expect(addrs(pod).find((l) => l.ifname === 'eth0')).toBeUndefined();
  });

  it('a first-stage failure is what finish and abort report, and the pod keeps its own link', async () => {
    const { node, pod } = nodeAndPod();
    ip('-n', pod.name, 'link', 'add', 'eth0', 'type', 'bridge');
    const e = await failure(bridgeAddBegin(linkRequest(node, pod)).finish(l3));
    expect(e.kind).toBe(FailureKind.Exists);
    expect(e.message).toContain('"eth0" already exists');
    expect((await failure(bridgeAddBegin(linkRequest(node, pod)).abort())).kind).toBe(FailureKind.Exists);
    expect(bridgePorts(node, 'fcnibr0')).toEqual([]);
    expect(addrs(pod).find((l) => l.ifname === 'eth0')?.linkinfo?.info_kind).toBe('bridge');
  });

  it('a second-stage failure deletes the veth again', async () => {
    const { node, pod } = nodeAndPod();
    const e = await failure(bridgeAddBegin(linkRequest(node, pod)).finish({ ...l3, addresses: ['10.97.0.5'] }));
    expect(e.kind).toBe(FailureKind.Invalid);
    expect(bridgePorts(node, 'fcnibr0')).toEqual([]);
    expect(addrs(pod).find((l) => l.ifname === 'eth0')).toBeUndefined();
  });
});
