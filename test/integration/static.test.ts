// static IPAM for real: under our bridge end to end (addresses checked with ip -j), interop with the
// reference both ways (our bridge with their static, their bridge with ours), the reference's stdout
// against ours for the same stdin and env, and the same bytes through the agent, the launcher's
// fallback and in-process from a caller in a mount namespace of its own.
import { describe, expect, it } from 'vitest';
import { mixedPluginDir } from '../helpers/cli.js';
import { addrs, bridgePorts, cidrsOf, cni, nodeAndPod } from '../helpers/fixtures.js';
import type { Netns } from '../helpers/netns.js';
import { masqElements } from '../helpers/nft.js';
import { onEveryPath, stableBridgeResult } from '../helpers/private-caller.js';
import { OUR_BIN, REF_BIN } from '../helpers/run-plugin.js';
import { staticConf, staticExec } from '../helpers/static.js';

const BRIDGE = 'fcnist0';

/** Our bridge (or the reference's, same fields) with a static ipam block. */
function bridgeStatic(ipam: Record<string, unknown>, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    cniVersion: '1.0.0',
    name: 'staticnet',
    type: 'bridge',
    bridge: BRIDGE,
    isGateway: true,
    ipam: { type: 'static', ...ipam },
    ...extra,
  };
}

const IPAM = {
  addresses: [
    { address: '10.66.0.5/24', gateway: '10.66.0.1' },
    { address: 'fd66::5/64', gateway: 'fd66::1' },
  ],
  routes: [{ dst: '0.0.0.0/0' }, { dst: '192.168.66.0/24', gw: '10.66.0.1' }],
  dns: { nameservers: ['10.66.0.53'] },
};

interface BridgeResult {
  interfaces: Array<{ name: string; sandbox?: string }>;
  ips: Array<{ address: string; gateway?: string; interface?: number }>;
  routes?: unknown[];
  dns?: unknown;
}

/** Nothing of the attachment left: no veth, nothing in the pod, no masquerade element. */
function expectNothingLeft(node: Netns, pod: Netns): void {
  expect(addrs(node).filter((l) => l.linkinfo?.info_kind === 'veth')).toEqual([]);
  expect(addrs(pod).map((l) => l.ifname)).toEqual(['lo']);
  expect(masqElements(node)).toEqual([]);
}

/** The pod's global addresses and routes as ip(8) reads them. */
function podView(pod: Netns): { v4: string[]; v6: string[] } {
  const all = cidrsOf(pod, 'eth0');
  return { v4: all.filter((a) => !a.includes(':')), v6: all.filter((a) => a.includes(':')) };
}

describe('static under our bridge', () => {
  it('ADD puts the configured addresses on eth0 (and the CNI_ARGS ones), CHECK passes, DEL leaves nothing', async () => {
    const { node, pod } = nodeAndPod();
    const conf = bridgeStatic(IPAM, { ipMasq: true });
    const args = 'IP=10.67.0.9/16;GATEWAY=10.67.0.1';
    const add = await cni('ADD', { node, pod, id: 'ctr-st', conf, args });
    expect(add.code, add.stdout + add.stderr).toBe(0);
    const result = add.json as BridgeResult;
    expect(result.ips).toEqual([
      { address: '10.66.0.5/24', gateway: '10.66.0.1', interface: 2 },
      { address: 'fd66::5/64', gateway: 'fd66::1', interface: 2 },
      { address: '10.67.0.9/16', gateway: '10.67.0.1', interface: 2 },
    ]);
    expect(result.routes).toEqual(IPAM.routes);
    expect(result.dns).toEqual(IPAM.dns);
    expect(podView(pod)).toEqual({ v4: ['10.66.0.5/24', '10.67.0.9/16'], v6: ['fd66::5/64'] });
    expect(bridgePorts(node, BRIDGE)).toHaveLength(1);
    expect(masqElements(node).length).toBeGreaterThan(0);

    const check = await cni('CHECK', { node, pod, id: 'ctr-st', conf: { ...conf, prevResult: result }, args });
    expect(check, check.stdout).toMatchObject({ code: 0, stdout: '' });
    // CHECK reaches static: a gateway that is not the configured one fails
    const drifted = { ...result, ips: result.ips.map((ip, i) => (i === 0 ? { ...ip, gateway: '10.66.0.254' } : ip)) };
    const bad = await cni('CHECK', { node, pod, id: 'ctr-st', conf: { ...conf, prevResult: drifted }, args });
    expect(bad.code).toBe(1);
    expect((bad.json as { msg: string }).msg).toMatch(/static: Failed to match addr 10\.66\.0\.5 on interface eth0/);

    const del = await cni('DEL', { node, pod, id: 'ctr-st', conf, args });
    expect(del).toMatchObject({ code: 0, stdout: '' });
    expectNothingLeft(node, pod);
    expect(bridgePorts(node, BRIDGE)).toEqual([]);
  });

  const badInputs: Array<[string, Record<string, unknown>, string | undefined, number, RegExp]> = [
    ['no CIDR', { addresses: [{ address: '10.66.0.5' }] }, undefined, 7, /^ipam\.addresses\[0\]\.address: the 'address' field/],
    ['a garbage gateway', { addresses: [{ address: '10.66.0.5/24', gateway: 'nope' }] }, undefined, 7, /gateway: invalid IP address: nope/],
    ['bad CNI_ARGS IP', { addresses: [] }, 'IP=10.66.0.5', 4, /^CNI_ARGS IP: /],
    ['bad CNI_ARGS GATEWAY', { addresses: [] }, 'IP=10.66.0.5/24;GATEWAY=1.2.3', 4, /^CNI_ARGS GATEWAY: invalid gateway address: 1\.2\.3/],
    ['unknown CNI_ARGS', { addresses: [] }, 'NOPE=1', 4, /^ARGS: unknown args/],
  ];
  for (const [label, ipam, args, code, msg] of badInputs) {
    it(`bad input through the bridge: ${label} → ${code}, nothing left`, async () => {
      const { node, pod } = nodeAndPod();
      const r = await cni('ADD', { node, pod, id: 'ctr-bad', conf: bridgeStatic(ipam, { ipMasq: true }), args });
      expect(r.code, r.stdout).toBe(1);
      expect(r.json).toMatchObject({ code, msg: expect.stringMatching(msg) });
      expectNothingLeft(node, pod);
      expect(bridgePorts(node, BRIDGE)).toEqual([]);
    });
  }
});

describe('static interop with the reference', () => {
  /** ADD then DEL through one bridge binary and one static, both ways; the result and the pod's addresses. */
  async function addDel(
    bridgeDir: string,
    staticFrom: 'ours' | 'ref',
  ): Promise<{ result: BridgeResult; pod: { v4: string[]; v6: string[] } }> {
    const { node, pod } = nodeAndPod();
    const cniPath = mixedPluginDir({ static: staticFrom });
    const conf = bridgeStatic(IPAM);
    const add = await cni('ADD', {
      node,
      pod,
      id: 'ctr-i',
      conf,
      binDir: bridgeDir,
      path: cniPath,
    });
    expect(add.code, add.stdout + add.stderr).toBe(0);
    const view = podView(pod);
    const del = await cni('DEL', { node, pod, id: 'ctr-i', conf, binDir: bridgeDir, path: cniPath });
    expect(del.code, del.stdout).toBe(0);
    expectNothingLeft(node, pod);
    return { result: add.json as BridgeResult, pod: view };
  }
  /** What does not depend on the run: addresses, routes, dns and which interface holds the addresses. */
  const shape = (r: BridgeResult) => ({
    ips: r.ips,
    routes: r.routes,
    dns: r.dns,
    names: r.interfaces.map((i) => i.name.replace(/^veth[0-9a-f]{8}$/, 'HOSTVETH')),
  });

  it('our bridge with their static and our static give the same result and addresses', async () => {
    const theirs = await addDel(OUR_BIN, 'ref');
    const ours = await addDel(OUR_BIN, 'ours');
    expect(shape(ours.result)).toEqual(shape(theirs.result));
    expect(ours.pod).toEqual(theirs.pod);
    expect(ours.pod).toEqual({ v4: ['10.66.0.5/24'], v6: ['fd66::5/64'] });
  });

  it('their bridge with our static and with theirs give the same result and addresses', async () => {
    const theirs = await addDel(REF_BIN, 'ref');
    const ours = await addDel(REF_BIN, 'ours');
    expect(shape(ours.result)).toEqual(shape(theirs.result));
    expect(ours.pod).toEqual(theirs.pod);
  });
});

/** The reference prints an empty `dns` object in 1.0.0 results (its older libcni); the newest omits it. */
function comparable(json: unknown): unknown {
  if (json && typeof json === 'object' && 'dns' in json && JSON.stringify((json as { dns: unknown }).dns) === '{}') {
    const { dns: _dns, ...rest } = json as Record<string, unknown>;
    return rest;
  }
  return json;
}

describe('static exec: the reference binary and ours, same stdin and env', () => {
  const cases: Array<{ label: string; conf: Record<string, unknown>; args?: string; codes?: { ref: number; ours: number } }> = [
    { label: 'addresses, routes, dns at 1.0.0', conf: staticConf(IPAM) },
    { label: 'the same at 0.3.1 (version fields)', conf: staticConf(IPAM, { cniVersion: '0.3.1' }) },
    { label: 'the same at 0.4.0', conf: staticConf(IPAM, { cniVersion: '0.4.0' }) },
    { label: 'one of each family at 0.2.0', conf: staticConf(IPAM, { cniVersion: '0.2.0' }) },
    { label: 'CNI_ARGS appended, GATEWAY matched', conf: staticConf(IPAM), args: 'IP=10.1.1.1/24, 10.2.2.2/16;GATEWAY=10.2.0.1,10.9.9.9' },
    { label: 'GATEWAY for a config address: ignored', conf: staticConf(IPAM), args: 'GATEWAY=10.66.0.9' },
    { label: 'args.cni.ips replaces', conf: staticConf(IPAM, { args: { cni: { ips: ['10.3.3.3/24'] } } }), args: 'IP=10.1.1.1/24' },
    {
      label: 'runtimeConfig.ips replaces args.cni.ips',
      conf: staticConf(IPAM, { args: { cni: { ips: ['10.3.3.3/24'] } }, runtimeConfig: { ips: ['10.4.4.4/8', '2001:db8::4/64'] } }),
    },
    {
      label: 'a replaced config address is not parsed',
      conf: staticConf({ addresses: [{ address: '10.10.0.1' }] }, { runtimeConfig: { ips: ['10.5.5.5/24'] } }),
    },
    { label: 'no addresses at all', conf: staticConf({}) },
    {
      label: 'IPv4-mapped and uncompressed forms are printed as Go prints them',
      conf: staticConf({ addresses: [{ address: '2001:0db8:0:0::1/64' }] }),
    },
    { label: 'error: address without prefix', conf: staticConf({ addresses: [{ address: '10.10.0.1' }] }), codes: { ref: 999, ours: 7 } },
    { label: 'error: not an address', conf: staticConf({ addresses: [{ address: '10.10.0.300/24' }] }), codes: { ref: 999, ours: 7 } },
    {
      label: 'error: garbage gateway',
      conf: staticConf({ addresses: [{ address: '10.10.0.1/24', gateway: 'x' }] }),
      codes: { ref: 999, ours: 7 },
    },
    { label: 'error: no ipam', conf: { cniVersion: '1.0.0', name: 'n', type: 'static' }, codes: { ref: 999, ours: 7 } },
    {
      label: 'error: two IPv4 addresses at 0.2.0',
      conf: staticConf({ addresses: [{ address: '10.1.0.1/24' }, { address: '10.1.0.2/24' }] }, { cniVersion: '0.2.0' }),
      codes: { ref: 999, ours: 7 },
    },
    {
      label: 'error: args.cni.ips without prefix',
      conf: staticConf({}, { args: { cni: { ips: ['10.6.6.6'] } } }),
      codes: { ref: 999, ours: 7 },
    },
    { label: 'error: CNI_ARGS IP without prefix', conf: staticConf({}), args: 'IP=10.1.1.1', codes: { ref: 999, ours: 4 } },
    { label: 'error: CNI_ARGS GATEWAY garbage', conf: staticConf({}), args: 'IP=10.1.1.1/24;GATEWAY=xx', codes: { ref: 999, ours: 4 } },
    { label: 'error: unknown CNI_ARGS', conf: staticConf({}), args: 'FOO=1', codes: { ref: 999, ours: 4 } },
  ];
  for (const c of cases) {
    it(c.label, async () => {
      const [ref, ours] = await Promise.all([staticExec(REF_BIN, 'ADD', c.conf, c.args), staticExec(OUR_BIN, 'ADD', c.conf, c.args)]);
      if (!c.codes) {
        expect(ref.code, ref.stdout).toBe(0);
        expect(ours.code, ours.stdout).toBe(0);
        expect(comparable(ours.json)).toEqual(comparable(ref.json));
        return;
      }
      // both refuse; the reference's untyped errors are all 999, ours say which field (7) or CNI_ARGS (4)
      expect([ref.code, ours.code]).toEqual([1, 1]);
      expect(Object.keys(ours.json as object)).toEqual(Object.keys(ref.json as object));
      expect([(ref.json as { code: number }).code, (ours.json as { code: number }).code]).toEqual([c.codes.ref, c.codes.ours]);
      // the reference's words are in ours
      expect((ours.json as { msg: string }).msg).toContain((ref.json as { msg: string }).msg.replace(/^ARGS: /, ''));
    });
  }

  it('DEL succeeds on both; CHECK agrees on a matching prevResult', async () => {
    const conf = staticConf(IPAM);
    for (const bin of [REF_BIN, OUR_BIN]) expect(await staticExec(bin, 'DEL', conf)).toMatchObject({ code: 0, stdout: '' });
    const add = await staticExec(OUR_BIN, 'ADD', conf);
    const withPrev = { ...conf, prevResult: add.json };
    for (const bin of [REF_BIN, OUR_BIN]) expect(await staticExec(bin, 'CHECK', withPrev)).toMatchObject({ code: 0, stdout: '' });
  });
});

describe('static from a caller in a mount namespace of its own', () => {
  it('bridge + static ADD, CHECK, DEL and a refusal: the same bytes through the agent, the fallback and in-process', async () => {
    await onEveryPath(async ({ path, node, pod, env, call }) => {
      const args = { CNI_ARGS: 'IP=10.67.0.9/16;GATEWAY=10.67.0.1' };
      const conf = bridgeStatic(IPAM, { runtimeConfig: { mac: '02:66:00:00:00:05' } });
      const add = await call('bridge', env('ADD', args), conf);
      expect(add, `${path} ADD`).toMatchObject({ code: 0, stderr: '' });
      expect(podView(pod)).toEqual({ v4: ['10.66.0.5/24', '10.67.0.9/16'], v6: ['fd66::5/64'] });
      const check = await call('bridge', env('CHECK', args), { ...conf, prevResult: JSON.parse(add.stdout) });
      expect(check, `${path} CHECK`).toEqual({ code: 0, stdout: '', stderr: '' });
      // static by itself, as a runtime would never call it but a test may: deterministic bytes
      const alone = await call('static', env('ADD', args), staticConf(IPAM));
      expect(alone.code, alone.stdout).toBe(0);
      const refused = await call('bridge', env('ADD'), bridgeStatic({ addresses: [{ address: '10.66.0.5' }] }));
      expect(refused.code).toBe(1);
      const outputs = [stableBridgeResult(add.stdout, bridgePorts(node, BRIDGE)[0]), alone.stdout, refused.stdout];
      const del = await call('bridge', env('DEL', args), conf);
      expect(del, `${path} DEL`).toEqual({ code: 0, stdout: '', stderr: '' });
      expectNothingLeft(node, pod);
      return outputs;
    });
  });
});
