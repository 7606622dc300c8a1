// portmap chained after our bridge through our runtime (`fastcni`), with real traffic in namespaces
// the test makes: a "client" namespace outside the node, another one beyond it for transit traffic,
// the node itself and the pod; IPv4 and IPv6; the maps read back with nft -j; UDP conntrack entries
// of a mapped port flushed on ADD; DEL without portMappings or prevResult; GC.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cnitoolContainerId } from '../../src/cli/invocation.js';
import { fastcni, sandbox, type Sandbox } from '../helpers/cli.js';
import { bridgeConf, cidrsOf, cni, nodeAndPod } from '../helpers/fixtures.js';
import { inNs, makeNetns, type Netns } from '../helpers/netns.js';
import { portmapElements, serve, talk, wireToNode } from '../helpers/portmap.js';

const PORTMAP = { type: 'portmap', capabilities: { portMappings: true } };

interface Mapping {
  hostPort: number;
  containerPort: number;
  protocol?: string;
  hostIP?: string;
}

function capArgs(portMappings: Mapping[]): Record<string, string> {
  return { CAP_ARGS: JSON.stringify({ portMappings }) };
}

/**
 * Our bridge (with hairpinMode: where br_netfilter is loaded, as here, a pod's packet to its own
 * host port is bridged back out of the port it came in, as for the reference) + host-local +
 * portmap, IPv4 or dual-stack.
 */
function writeList(s: Sandbox, o: { dualStack?: boolean; portmap?: Record<string, unknown> } = {}): void {
  const ranges = o.dualStack ? [[{ subnet: '10.99.0.0/24' }], [{ subnet: 'fd00:99::/64' }]] : [[{ subnet: '10.99.0.0/24' }]];
  const routes = o.dualStack ? [{ dst: '0.0.0.0/0' }, { dst: '::/0' }] : [{ dst: '0.0.0.0/0' }];
  const {
    cniVersion,
    name: _n,
    ...bridge
  } = bridgeConf({ dataDir: s.dataDir, ranges, ipamExtra: { routes }, extra: { hairpinMode: true } });
  const list = { cniVersion, name: 'testnet', plugins: [bridge, { ...PORTMAP, ...o.portmap }] };
  writeFileSync(join(s.confDir, '10-testnet.conflist'), JSON.stringify(list));
}

function podAddress(pod: Netns, family: 4 | 6): string {
  const cidr = cidrsOf(pod, 'eth0').find((c) => c.includes(':') === (family === 6));
  return cidr!.split('/')[0]!;
}

function sysctl(ns: Netns, key: string): string {
  return inNs(ns.name, 'cat', `/proc/sys/${key.replaceAll('.', '/')}`).trim();
}

describe('portmap after our bridge, through our runtime', () => {
  it('maps host ports for traffic from outside, from the node and from the pod itself, but not transit traffic; DEL without portMappings', async () => {
    const { node, pod } = nodeAndPod();
    const s = sandbox();
    writeList(s);
    const client = wireToNode(node, 'client', 201);
    const far = wireToNode(node, 'far', 202);
    await serve(pod, 'tcp', 80, 'pod');
    await serve(pod, 'udp', 53, 'pod');
    // the same port on a host that is not the node: transit traffic to it must reach it untouched
    await serve(far.ns, 'tcp', 8080, 'far');

    const mappings = [
      { hostPort: 8080, containerPort: 80, protocol: 'tcp' },
      { hostPort: 5300, containerPort: 53, protocol: 'udp' },
    ];
    const add = await fastcni(['add', 'testnet', pod.name, '--json'], { node, env: { ...s.env, ...capArgs(mappings) } });
    expect(add.code, add.stderr).toBe(0);
    const podIp = podAddress(pod, 4);
    const owner = `testnet ${cnitoolContainerId(pod.path)}/eth0`;
    expect(portmapElements(node)).toEqual(
      [
        `ip hostports tcp . 8080 # ${owner} : ${podIp} . 80`,
        `ip hostports udp . 5300 # ${owner} : ${podIp} . 53`,
        `ip hairpin ${podIp} . ${podIp} # ${owner}`,
        `ip hairpin 127.0.0.1 . ${podIp} # ${owner}`,
      ].sort(),
    );

    // from outside the node, to the node's address: the pod answers and sees the client itself
    expect(await talk(client.ns, 'tcp', client.nodeV4, 8080)).toBe(`pod ${client.v4}`);
    expect(await talk(client.ns, 'udp', client.nodeV4, 5300)).toBe(`pod ${client.v4}`);
    // from the node itself to 127.0.0.1 (route_localnet on the bridge, masqueraded to the bridge's address)
    expect(await talk(node, 'tcp', '127.0.0.1', 8080)).toBe('pod 10.99.0.1');
    expect(sysctl(node, 'net.ipv4.conf.fcnibr0.route_localnet')).toBe('1');
    // from the pod to its own host port on a node address (hairpin, masqueraded so the answer comes back)
    expect(await talk(pod, 'tcp', client.nodeV4, 8080)).toBe('pod 10.99.0.1');
    // transit: to an address that is not the node's, routed through it, on the same port
    expect(await talk(client.ns, 'tcp', far.v4, 8080)).toBe(`far ${client.v4}`);

    const check = await fastcni(['check', 'testnet', pod.name], { node, env: { ...s.env, ...capArgs(mappings) } });
    expect(check.code, check.stderr).toBe(0);
    // DEL without the mappings (the reference leaks its rules then): every element goes
    const del = await fastcni(['del', 'testnet', pod.name], { node, env: s.env });
    expect(del.code, del.stderr).toBe(0);
    expect(portmapElements(node)).toEqual([]);
    expect(await talk(client.ns, 'tcp', client.nodeV4, 8080)).toMatch(/^error ECONNREFUSED|^timeout/);
  });

  it('IPv6: outside → node and hairpin reach the pod', async () => {
    const { node, pod } = nodeAndPod();
    const s = sandbox();
    writeList(s, { dualStack: true });
    const client = wireToNode(node, 'client', 203);
    await serve(pod, 'tcp', 80, 'pod');
    const add = await fastcni(['add', 'testnet', pod.name], {
      node,
      env: { ...s.env, ...capArgs([{ hostPort: 8080, containerPort: 80 }]) },
    });
    expect(add.code, add.stderr).toBe(0);
    const pod6 = podAddress(pod, 6);
    const owner = `testnet ${cnitoolContainerId(pod.path)}/eth0`;
    expect(portmapElements(node).filter((e) => e.startsWith('ip6'))).toEqual([
      `ip6 hairpin ${pod6} . ${pod6} # ${owner}`,
      `ip6 hostports tcp . 8080 # ${owner} : ${pod6} . 80`,
    ]);
    expect(await talk(client.ns, 'tcp', client.nodeV6, 8080)).toBe(`pod ${client.v6}`);
    expect(await talk(client.ns, 'tcp', client.nodeV4, 8080)).toBe(`pod ${client.v4}`);
    expect(await talk(pod, 'tcp', client.nodeV6, 8080)).toBe('pod fd00:99::1');
    const del = await fastcni(['del', 'testnet', pod.name], { node, env: s.env });
    expect(del.code, del.stderr).toBe(0);
    expect(portmapElements(node)).toEqual([]);
  });

  it('flushes the UDP conntrack entries of a newly mapped port, so an earlier "connection" reaches the pod', async () => {
    const { node, pod } = nodeAndPod();
    const s = sandbox();
    writeList(s);
    const client = wireToNode(node, 'client', 204);
    await serve(pod, 'udp', 53, 'pod');
    // another pod's mapping first: the node's NAT chains exist, as on any node that runs pods with host ports
    const other = makeNetns('pod2');
    const first = await fastcni(['add', 'testnet', other.name], {
      node,
      env: { ...s.env, ...capArgs([{ hostPort: 9000, containerPort: 90 }]) },
    });
    expect(first.code, first.stderr).toBe(0);
    // before the mapping: the node has no listener, but conntrack remembers the flow as not NATed
    expect(await talk(client.ns, 'udp', client.nodeV4, 5300, 40000)).toBe('timeout');
    const add = await fastcni(['add', 'testnet', pod.name], {
      node,
      env: { ...s.env, ...capArgs([{ hostPort: 5300, containerPort: 53, protocol: 'udp' }]) },
    });
    expect(add.code, add.stderr).toBe(0);
    // the same 5-tuple again: only DNATed if the old entry is gone
    expect(await talk(client.ns, 'udp', client.nodeV4, 5300, 40000)).toBe(`pod ${client.v4}`);
  });

  it("masqAll: traffic from outside reaches the pod from the node's address", async () => {
    const { node, pod } = nodeAndPod();
    const s = sandbox();
    writeList(s, { portmap: { masqAll: true } });
    const client = wireToNode(node, 'client', 207);
    await serve(pod, 'tcp', 80, 'pod');
    const add = await fastcni(['add', 'testnet', pod.name], {
      node,
      env: { ...s.env, ...capArgs([{ hostPort: 8080, containerPort: 80 }]) },
    });
    expect(add.code, add.stderr).toBe(0);
    const podIp = podAddress(pod, 4);
    const owner = `testnet ${cnitoolContainerId(pod.path)}/eth0`;
    expect(portmapElements(node)).toEqual([`ip hostports tcp . 8080 # ${owner} : ${podIp} . 80`, `ip masq-all ${podIp} # ${owner}`]);
    expect(await talk(client.ns, 'tcp', client.nodeV4, 8080)).toBe('pod 10.99.0.1');
  });

  it("GC removes the elements of attachments that are not valid, and only its own network's", async () => {
    const { node, pod } = nodeAndPod();
    const attach = (net: string, id: string, address: string, hostPort: number) =>
      cni('ADD', {
        node,
        pod,
        id,
        conf: {
          cniVersion: '1.1.0',
          name: net,
          type: 'portmap',
          runtimeConfig: { portMappings: [{ hostPort, containerPort: 80 }] },
          prevResult: { cniVersion: '1.1.0', interfaces: [{ name: 'eth0', sandbox: pod.path }], ips: [{ address, interface: 0 }] },
        },
      });
    for (const [net, id, address, port] of [
      ['net-a', 'keep', '10.97.0.2/24', 8001],
      ['net-a', 'stale', '10.97.0.3/24', 8002],
      ['net-b', 'other', '10.96.0.2/24', 8003],
    ] as const) {
      expect((await attach(net, id, address, port)).code).toBe(0);
    }
    const gc = await cni('GC', {
      node,
      id: '',
      conf: { cniVersion: '1.1.0', name: 'net-a', type: 'portmap', 'cni.dev/valid-attachments': [{ containerID: 'keep', ifname: 'eth0' }] },
    });
    expect(gc.code, gc.stdout).toBe(0);
    const owners = [...new Set(portmapElements(node).map((e) => e.split(' # ')[1]!.split(' : ')[0]))].sort();
    expect(owners).toEqual(['net-a keep/eth0', 'net-b other/eth0']);
  });
});
