// Bad input to the bridge binary: the right CNI code, a message naming the problem, a non-zero exit,
// and nothing left behind.
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { addrs, bridgeConf, bridgePorts, nodeAndPod, tempDir } from '../helpers/fixtures.js';
import { masqElements } from '../helpers/nft.js';
import { cniEnv, OUR_BIN, runPlugin } from '../helpers/run-plugin.js';
import type { Netns } from '../helpers/netns.js';

interface ErrJson {
  code: number;
  msg: string;
  details?: string;
}

async function run(node: Netns, env: Record<string, string>, config: unknown) {
  const res = await runPlugin({ nodeNs: node.name, binary: join(OUR_BIN, 'bridge'), env, config });
  return { ...res, err: res.json as ErrJson };
}

function expectNothingLeft(node: Netns, pod: Netns, dataDir: string) {
  expect(addrs(node).filter((l) => l.ifname !== 'lo')).toEqual([]);
  expect(addrs(pod).filter((l) => l.ifname !== 'lo')).toEqual([]);
  expect(masqElements(node)).toEqual([]);
  const netDir = join(dataDir, 'testnet');
  const files = existsSync(netDir) ? readdirSync(netDir).filter((f) => /^\d+\.\d+\.\d+\.\d+$/.test(f)) : [];
  expect(files).toEqual([]);
}

describe('bad input', () => {
  it('malformed JSON → 6', async () => {
    const { node, pod } = nodeAndPod();
    const dataDir = tempDir('ipam');
    const res = await run(node, cniEnv('ADD', { id: 'bad', netns: pod.path }), '{"cniVersion": "1.0.0", "name": ');
    expect(res.code).not.toBe(0);
    expect(res.err.code).toBe(6);
    expectNothingLeft(node, pod, dataDir);
  });

  it('a bad CIDR → 7 naming the field', async () => {
    const { node, pod } = nodeAndPod();
    const dataDir = tempDir('ipam');
    const conf = bridgeConf({ dataDir, subnet: '10.99.0.0/33' });
    const res = await run(node, cniEnv('ADD', { id: 'bad', netns: pod.path }), conf);
    expect(res.code).not.toBe(0);
    expect(res.err.code).toBe(7);
    expect(`${res.err.msg} ${res.err.details ?? ''}`).toMatch(/subnet/);
    expect(`${res.err.msg} ${res.err.details ?? ''}`).toContain('10.99.0.0/33');
    expectNothingLeft(node, pod, dataDir);
  });

  it('a field of the wrong type → 7 naming the field', async () => {
    const { node, pod } = nodeAndPod();
    const dataDir = tempDir('ipam');
    const conf = bridgeConf({ dataDir, extra: { mtu: 'big' } });
    const res = await run(node, cniEnv('ADD', { id: 'bad', netns: pod.path }), conf);
    expect(res.code).not.toBe(0);
    expect(res.err.code).toBe(7);
    expect(res.err.msg).toContain('mtu');
    expectNothingLeft(node, pod, dataDir);
  });

  it('an unsupported cniVersion → 1', async () => {
    const { node, pod } = nodeAndPod();
    const dataDir = tempDir('ipam');
    const res = await run(node, cniEnv('ADD', { id: 'bad', netns: pod.path }), bridgeConf({ dataDir, cniVersion: '9.9.9' }));
    expect(res.code).not.toBe(0);
    expect(res.err.code).toBe(1);
    expectNothingLeft(node, pod, dataDir);
  });

  it('missing CNI_COMMAND → 4', async () => {
    const { node, pod } = nodeAndPod();
    const dataDir = tempDir('ipam');
    const env = cniEnv('ADD', { id: 'bad', netns: pod.path });
    delete env.CNI_COMMAND;
    const res = await run(node, env, bridgeConf({ dataDir }));
    expect(res.code).not.toBe(0);
    expect(res.err.code).toBe(4);
    expect(res.err.msg).toContain('CNI_COMMAND');
    expectNothingLeft(node, pod, dataDir);
  });

  it('missing CNI_NETNS on ADD → 4', async () => {
    const { node, pod } = nodeAndPod();
    const dataDir = tempDir('ipam');
    const res = await run(node, cniEnv('ADD', { id: 'bad' }), bridgeConf({ dataDir }));
    expect(res.code).not.toBe(0);
    expect(res.err.code).toBe(4);
    expect(res.err.msg).toContain('CNI_NETNS');
    expectNothingLeft(node, pod, dataDir);
  });

  it('a netns path that does not exist → error, nothing reserved', async () => {
    const { node, pod } = nodeAndPod();
    const dataDir = tempDir('ipam');
    const res = await run(node, cniEnv('ADD', { id: 'bad', netns: '/var/run/netns/fcni-t-does-not-exist' }), bridgeConf({ dataDir }));
    expect(res.code).not.toBe(0);
    expect(res.err.msg).toContain('/var/run/netns/fcni-t-does-not-exist');
    expectNothingLeft(node, pod, dataDir);
  });

  it('an interface name of 16 bytes → 4', async () => {
    const { node, pod } = nodeAndPod();
    const dataDir = tempDir('ipam');
    const res = await run(node, cniEnv('ADD', { id: 'bad', netns: pod.path, ifname: 'abcdefghijklmnop' }), bridgeConf({ dataDir }));
    expect(res.code).not.toBe(0);
    expect(res.err.code).toBe(4);
    expectNothingLeft(node, pod, dataDir);
  });

  it('hairpin together with promiscuous mode → 7', async () => {
    const { node, pod } = nodeAndPod();
    const dataDir = tempDir('ipam');
    const res = await run(
      node,
      cniEnv('ADD', { id: 'bad', netns: pod.path }),
      bridgeConf({ dataDir, extra: { hairpinMode: true, promiscMode: true } }),
    );
    expect(res.code).not.toBe(0);
    expect(res.err.code).toBe(7);
    expect(res.err.msg).toContain('hairpin');
    expectNothingLeft(node, pod, dataDir);
  });

  it('a bridge name that is not a bridge → error and nothing reserved', async () => {
    const { node, pod } = nodeAndPod();
    const dataDir = tempDir('ipam');
    const res = await run(node, cniEnv('ADD', { id: 'bad', netns: pod.path }), bridgeConf({ dataDir, bridge: 'lo' }));
    expect(res.code).not.toBe(0);
    expect(res.err.msg).toContain('not a bridge');
    expect(bridgePorts(node, 'lo')).toEqual([]);
    expectNothingLeft(node, pod, dataDir);
  });

  for (const [field, route] of [
    ['dst', { dst: 'garbage' }],
    ['gw', { dst: '10.200.0.0/16', gw: 'garbage' }],
  ] as const) {
    it(`a route with a garbage ${field} in the IPAM config → 7 naming the field, no address reserved`, async () => {
      const { node, pod } = nodeAndPod();
      const dataDir = tempDir('ipam');
      const conf = bridgeConf({ dataDir, ipamExtra: { routes: [{ dst: '0.0.0.0/0' }, route] } });
      const res = await run(node, cniEnv('ADD', { id: 'bad', netns: pod.path }), conf);
      expect(res.code).not.toBe(0);
      expect(res.err.code).toBe(7);
      // the reference host-local's wording (Go's net.ParseCIDR / net.ParseIP), and the field
      expect(res.err.msg).toContain(`ipam.routes[1].${field}`);
      expect(res.err.msg).toContain(field === 'dst' ? 'invalid CIDR address: garbage' : 'invalid IP address: garbage');
      expectNothingLeft(node, pod, dataDir);
    });
  }

  it('an IPAM result the bridge cannot use → the IPAM plugin gets its DEL', async () => {
    const { node, pod } = nodeAndPod();
    const dataDir = tempDir('ipam');
    // A third-party IPAM plugin (found first in CNI_PATH) that reserves something on ADD, releases
    // it on DEL, and returns a route that is not a CIDR.
    const binDir = tempDir('bin');
    const reserved = join(dataDir, 'reserved');
    writeFileSync(
      join(binDir, 'odd-ipam'),
      [
        '#!/bin/sh',
        'cat >/dev/null',
        `case "$CNI_COMMAND" in`,
        `ADD) echo "$CNI_CONTAINERID" > ${reserved}; echo '{"cniVersion":"1.0.0","ips":[{"address":"10.99.0.5/24"}],"routes":[{"dst":"garbage"}]}' ;;`,
        `DEL) rm -f ${reserved} ;;`,
        'esac',
        '',
      ].join('\n'),
      { mode: 0o755 },
    );
    const conf = bridgeConf({ dataDir, ipamType: 'odd-ipam' });
    const res = await run(node, cniEnv('ADD', { id: 'bad', netns: pod.path, path: `${binDir}:${OUR_BIN}` }), conf);
    expect(res.code).not.toBe(0);
    expect(res.err.msg).toContain('routes[0].dst');
    expect(existsSync(reserved)).toBe(false);
    expectNothingLeft(node, pod, dataDir);
  });

  for (const plugin of ['bridge', 'host-local', 'loopback', 'portmap']) {
    it(`a network config without type → 7 naming the field (${plugin})`, async () => {
      const { node, pod } = nodeAndPod();
      const dataDir = tempDir('ipam');
      const { type: _type, ...conf } = bridgeConf({ dataDir });
      for (const command of ['ADD', 'DEL']) {
        const res = await runPlugin({
          nodeNs: node.name,
          binary: join(OUR_BIN, plugin),
          env: cniEnv(command, { id: 'bad', netns: pod.path }),
          config: conf,
        });
        expect(res.code, `${plugin} ${command}`).not.toBe(0);
        expect((res.json as ErrJson).code, `${plugin} ${command}`).toBe(7);
        expect((res.json as ErrJson).msg, `${plugin} ${command}`).toMatch(/^type: /);
      }
      expectNothingLeft(node, pod, dataDir);
    });
  }
});
