// portmap through real libcni (cnitool): after our bridge, and after the reference bridge and
// host-local at cniVersion 1.0.0; the maps read back with nft -j, traffic from a client namespace
// outside the node, CHECK, and DEL leaving nothing.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cnitoolContainerId } from '../../src/cli/invocation.js';
import { cnitool, cnitoolSandbox, haveCnitool, mixedPluginDir, type CnitoolSandbox } from '../helpers/cli.js';
import { bridgeConf, cidrsOf, nodeAndPod } from '../helpers/fixtures.js';
import { portmapElements, serve, talk, wireToNode } from '../helpers/portmap.js';

const CAP = { CAP_ARGS: JSON.stringify({ portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }] }) };

function writeList(s: CnitoolSandbox): void {
  const { cniVersion, name: _n, ...bridge } = bridgeConf({ dataDir: s.dataDir });
  const list = { cniVersion, name: 'testnet', plugins: [bridge, { type: 'portmap', capabilities: { portMappings: true } }] };
  writeFileSync(join(s.confDir, '10-testnet.conflist'), JSON.stringify(list));
}

describe.skipIf(!haveCnitool)('portmap through cnitool', () => {
  for (const [label, cniPath] of [
    ['our bridge and host-local', () => undefined],
    ['the reference bridge and host-local', () => mixedPluginDir({ bridge: 'ref', 'host-local': 'ref', portmap: 'ours' })],
  ] as const) {
    it(`after ${label}: ADD, traffic, CHECK, DEL`, async () => {
      const { node, pod } = nodeAndPod();
      const s = cnitoolSandbox();
      writeList(s);
      const client = wireToNode(node, 'client', 205);
      await serve(pod, 'tcp', 80, 'pod');
      const path = cniPath();
      const add = await cnitool(s, node, ['add', 'testnet', pod.path], { cniPath: path, env: CAP });
      expect(add.code, add.stderr).toBe(0);
      // portmap passes the bridge's result through unchanged
      expect((add.json as { ips: Array<{ address: string }> }).ips[0]!.address).toBe(cidrsOf(pod, 'eth0')[0]);
      const podIp = cidrsOf(pod, 'eth0')[0]!.split('/')[0]!;
      const owner = `testnet ${cnitoolContainerId(pod.path)}/eth0`;
      expect(portmapElements(node)).toEqual([
        `ip hairpin ${podIp} . ${podIp} # ${owner}`,
        `ip hairpin 127.0.0.1 . ${podIp} # ${owner}`,
        `ip hostports tcp . 8080 # ${owner} : ${podIp} . 80`,
      ]);
      expect(await talk(client.ns, 'tcp', client.nodeV4, 8080)).toBe(`pod ${client.v4}`);
      const check = await cnitool(s, node, ['check', 'testnet', pod.path], { cniPath: path, env: CAP });
      expect(check.code, check.stderr).toBe(0);
      const del = await cnitool(s, node, ['del', 'testnet', pod.path], { cniPath: path, env: CAP });
      expect(del.code, del.stderr).toBe(0);
      expect(portmapElements(node)).toEqual([]);
    });
  }

  it('prints what the reference portmap prints for the same chain (prevResult unchanged)', async () => {
    const outputs: string[] = [];
    for (const portmap of ['ref', 'ours'] as const) {
      const { node, pod } = nodeAndPod();
      const s = cnitoolSandbox();
      writeList(s);
      const path = mixedPluginDir({ bridge: 'ref', 'host-local': 'ref', portmap });
      const add = await cnitool(s, node, ['add', 'testnet', pod.path], { cniPath: path, env: CAP });
      expect(add.code, `${portmap}: ${add.stderr}`).toBe(0);
      outputs.push(
        add.stdout
          .replace(/"([0-9a-f]{2}:){5}[0-9a-f]{2}"/g, '"MAC"')
          .replace(/"veth[0-9a-f]+"/g, '"VETH"')
          .replaceAll(pod.path, 'POD'),
      );
      expect((await cnitool(s, node, ['del', 'testnet', pod.path], { cniPath: path, env: CAP })).code).toBe(0);
    }
    expect(outputs[1]).toBe(outputs[0]);
  });
});
