// The overlay between nodes through src/native.ts: two simulated nodes (namespaces joined by a veth
// underlay on 192.0.2.0/24, each with its pod subnet's first address on a portless bridge), synced
// with each other over host-gw and over vxlan; real pings between the pod addresses prove the
// routes carry traffic, and teardown takes them away again.
import { describe, expect, it } from 'vitest';
import { overlaySync, overlayTeardown, type OverlayRequest } from '../../src/native.js';
import { NativeError } from '../../src/spec/errors.js';
import { inNs, ip, ipJson, makeNetns, type Netns } from '../helpers/netns.js';

/** Nodes 1 and 2: underlay u0 192.0.2.n/24, pod address 10.244.n.1/24 on the bridge `pods`. */
function twoNodes(): [Netns, Netns] {
  const nodes: [Netns, Netns] = [makeNetns('ov1'), makeNetns('ov2')];
  ip('link', 'add', 'u0', 'netns', nodes[0].name, 'type', 'veth', 'peer', 'name', 'u0', 'netns', nodes[1].name);
  nodes.forEach((ns, i) => {
    const n = i + 1;
    ip('-n', ns.name, 'addr', 'add', `192.0.2.${n}/24`, 'dev', 'u0');
    ip('-n', ns.name, 'link', 'set', 'u0', 'up');
    ip('-n', ns.name, 'link', 'add', 'pods', 'up', 'type', 'bridge');
    ip('-n', ns.name, 'addr', 'add', `10.244.${n}.1/24`, 'dev', 'pods');
  });
  return nodes;
}

/** Node n's request with the other node as its only peer (whose VTEP MAC is `peerMac`). */
function request(node: Netns, n: number, backend: string, peerMac?: string): OverlayRequest {
  const p = 3 - n;
  return {
    hostNetns: node.path,
    backend,
    localSubnets: [`10.244.${n}.0/24`],
    publicIp: `192.0.2.${n}`,
    peers: [{ subnets: [`10.244.${p}.0/24`], publicIp: `192.0.2.${p}`, vtepMac: peerMac }],
  };
}

function pings(from: Netns, n: number): boolean {
  try {
    inNs(from.name, 'ping', '-c1', '-W1', '-I', `10.244.${n}.1`, `10.244.${3 - n}.1`);
    return true;
  } catch {
    return false;
  }
}

const ourRoutes = (node: Netns) =>
  ipJson<{ dst: string; gateway?: string; dev: string }[]>('-n', node.name, 'route', 'show', 'proto', '102');

describe('overlay', () => {
  it('host-gw: routes through the peer public address carry pings; a second sync changes nothing; teardown removes them', async () => {
    const [a, b] = twoNodes();
    expect(pings(a, 1)).toBe(false);
    const s = await overlaySync(request(a, 1, 'host-gw'));
    expect(s).toEqual({ mtu: 1500, routes: 1, added: 1, removed: 0 });
    await overlaySync(request(b, 2, 'host-gw'));
    expect(ourRoutes(a)).toEqual([expect.objectContaining({ dst: '10.244.2.0/24', gateway: '192.0.2.2', dev: 'u0' })]);
    expect(pings(a, 1) && pings(b, 2)).toBe(true);
    expect(await overlaySync(request(a, 1, 'host-gw'))).toMatchObject({ routes: 1, added: 0, removed: 0 });
    expect(await overlayTeardown(request(a, 1, 'host-gw'))).toMatchObject({ routes: 0, removed: 1 });
    expect(ourRoutes(a)).toEqual([]);
    expect(pings(a, 1)).toBe(false);
  });

  it('vxlan: each node publishes its VTEP MAC, the other syncs with it, pings cross the device; teardown deletes it', async () => {
    const [a, b] = twoNodes();
    // the MAC depends only on the public IP: a first sync with no peers learns it
    const macA = (await overlaySync({ ...request(a, 1, 'vxlan'), peers: [] })).vtepMac;
    const macB = (await overlaySync({ ...request(b, 2, 'vxlan'), peers: [] })).vtepMac;
    expect(macA).toMatch(/^0e:04:c0:00:02:01$/);
    const s = await overlaySync(request(a, 1, 'vxlan', macB));
    expect(s).toEqual({ vtepMac: macA, mtu: 1450, routes: 1, added: 3, removed: 0 });
    await overlaySync(request(b, 2, 'vxlan', macA));
    expect(ourRoutes(a)).toEqual([expect.objectContaining({ dst: '10.244.2.0/24', gateway: '10.244.2.0', dev: 'fastcni.1' })]);
    expect(pings(a, 1) && pings(b, 2)).toBe(true);

    await overlayTeardown(request(a, 1, 'vxlan'));
    expect(ipJson('-n', a.name, 'link', 'show', 'type', 'vxlan')).toEqual([]);
    expect(ourRoutes(a)).toEqual([]);
    expect(pings(a, 1)).toBe(false);
  });

  it('bad input rejects with a NativeError of kind invalid naming the field, before any change', async () => {
    const [a] = twoNodes();
    const bad: [OverlayRequest, string][] = [
      [{ ...request(a, 1, 'vxlan', '0e:04:c0:00:02:02'), backend: 'udp' }, 'backend: '],
      [request(a, 1, 'vxlan'), 'peers[0].vtepMac: required'],
      [request(a, 1, 'vxlan', 'not-a-mac'), 'peers[0].vtepMac: invalid MAC'],
      [{ ...request(a, 1, 'host-gw'), localSubnets: ['10.244.1.0/40'] }, 'localSubnets[0]: invalid CIDR'],
    ];
    for (const [req, message] of bad) {
      const e = await overlaySync(req).then(
        () => undefined,
        (x: unknown) => x,
      );
      expect(e).toBeInstanceOf(NativeError);
      expect(e).toMatchObject({ kind: 'invalid', message: expect.stringContaining(message) });
    }
    expect(ipJson('-n', a.name, 'link', 'show', 'type', 'vxlan')).toEqual([]);
    expect(ourRoutes(a)).toEqual([]);
  });
});
