// flannel for real: the classic 10-flannel.conflist (flannel delegating to bridge + host-local, then
// portmap) with a hand-written subnet.env, through our runtime and through libcni (cnitool): the pod
// gets its address from FLANNEL_SUBNET behind cni0, a default route, a working host port; the
// rendered delegate file is what the reference renders; DEL leaves nothing. Dual stack, errors
// naming what is missing, DEL's file rules, and the same bytes on the three paths from a caller in
// a mount namespace of its own.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cnitoolContainerId } from '../../src/cli/invocation.js';
import { cacheFiles, cnitool, cnitoolSandbox, fastcni, haveCnitool, sandbox, type Sandbox } from '../helpers/cli.js';
import { addrs, bridgePorts, cidrsOf, cni, nodeAndPod, tempDir } from '../helpers/fixtures.js';
import { flannelConflist, flannelPlugin, SUBNET_ENV_DUAL, SUBNET_ENV_V4, writeSubnetEnv } from '../helpers/flannel.js';
import { ipJson, type Netns } from '../helpers/netns.js';
import { hasMasqElement, masqElements } from '../helpers/nft.js';
import { portmapElements, serve, talk } from '../helpers/portmap.js';
import { onEveryPath, stableBridgeResult } from '../helpers/private-caller.js';
import type { PluginRun } from '../helpers/run-plugin.js';

const CAP = { CAP_ARGS: JSON.stringify({ portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }] }) };

/** The delegate config the reference renders for the classic conflist (flannel_linux.go doCmdAdd, json.Marshal of the map), plus our nonMasqueradeCIDRs. */
function expectedDelegate(dir: string, o: { dual?: boolean; cniVersion?: string } = {}): string {
  const ranges = o.dual ? '[[{"subnet":"10.244.1.0/24"}],[{"subnet":"fd00:10:244:1::/64"}]]' : '[[{"subnet":"10.244.1.0/24"}]]';
  const routes = o.dual ? '[{"dst":"10.244.0.0/16"},{"dst":"fd00:10:244::/56"}]' : '[{"dst":"10.244.0.0/16"}]';
  return (
    `{"cniVersion":"${o.cniVersion ?? '0.3.1'}","hairpinMode":true,"ipMasq":${o.dual ? 'true' : 'false'},` +
    `"ipam":{"dataDir":${JSON.stringify(join(dir, 'networks'))},"ranges":${ranges},"routes":${routes},"type":"host-local"},` +
    `"isDefaultGateway":true,"isGateway":true,"mtu":1450,"name":"cbr0",` +
    // ours: a masquerading delegate exempts the flannel networks (the reference renders no such key)
    (o.dual ? '"nonMasqueradeCIDRs":["10.244.0.0/16","fd00:10:244::/56"],' : '') +
    `"type":"bridge"}`
  );
}

interface Added {
  interfaces: Array<{ name: string; sandbox?: string }>;
  ips: Array<{ version: string; address: string; gateway?: string; interface?: number }>;
  routes?: Array<{ dst: string; gw?: string }>;
}

/** The pod as flannel's delegate wired it: address, default route, MTU; cni0 with the gateway. */
function expectWired(node: Netns, pod: Netns, add: Added): void {
  expect(add.ips).toEqual([{ version: '4', address: '10.244.1.2/24', gateway: '10.244.1.1', interface: 2 }]);
  expect(add.interfaces.map((i) => i.name)).toEqual(['cni0', expect.stringMatching(/^veth/), 'eth0']);
  expect(add.routes).toEqual([{ dst: '10.244.0.0/16' }, { dst: '0.0.0.0/0', gw: '10.244.1.1' }]);
  expect(cidrsOf(pod, 'eth0')).toEqual(['10.244.1.2/24']);
  expect(cidrsOf(node, 'cni0')).toEqual(['10.244.1.1/24']);
  expect(bridgePorts(node, 'cni0')).toHaveLength(1);
  const eth0 = ipJson<Array<{ mtu: number }>>('-n', pod.name, 'link', 'show', 'eth0')[0];
  expect(eth0?.mtu).toBe(1450);
  const routes = ipJson<Array<{ dst: string; gateway?: string }>>('-n', pod.name, 'route', 'show');
  expect(routes).toContainEqual(expect.objectContaining({ dst: 'default', gateway: '10.244.1.1' }));
  expect(routes).toContainEqual(expect.objectContaining({ dst: '10.244.0.0/16', gateway: '10.244.1.1' }));
}

/** Nothing of the pod left: veth, pod interface, reservation, flannel's file, nft elements, cache. */
function expectGone(o: { node: Netns; pod: Netns; dir: string; s?: Sandbox }): void {
  expect(addrs(o.node).filter((l) => l.linkinfo?.info_kind === 'veth')).toEqual([]);
  expect(addrs(o.pod).map((l) => l.ifname)).toEqual(['lo']);
  const net = join(o.dir, 'networks', 'cbr0');
  expect(existsSync(net) ? readdirSync(net).filter((f) => /^\d+\.\d+\.\d+\.\d+$|:/.test(f)) : []).toEqual([]);
  expect(readdirSync(join(o.dir, 'flannel'))).toEqual([]);
  expect(portmapElements(o.node)).toEqual([]);
  expect(masqElements(o.node)).toEqual([]);
  if (o.s) expect(cacheFiles(o.s)).toEqual([]);
}

type Run = (verb: 'add' | 'check' | 'del', env?: Record<string, string>) => Promise<PluginRun>;

/** A node, a pod, and the classic conflist in the sandbox with subnet.env and every dataDir under a temp dir. */
function classicSetup(s: Sandbox, env = SUBNET_ENV_V4, cniVersion = '0.3.1'): { node: Netns; pod: Netns; dir: string } {
  const { node, pod } = nodeAndPod();
  const dir = tempDir('flannel');
  writeSubnetEnv(dir, env);
  writeFileSync(join(s.confDir, '10-flannel.conflist'), JSON.stringify({ ...flannelConflist(dir), cniVersion }));
  return { node, pod, dir };
}

/** ADD (with a host port), CHECK, DEL of the classic conflist through `run`. */
async function classic(o: { node: Netns; pod: Netns; dir: string; s: Sandbox; run: Run }): Promise<void> {
  const { node, pod, dir, run } = o;
  await serve(pod, 'tcp', 80, 'pod');
  const add = await run('add', CAP);
  expect(add.code, add.stdout + add.stderr).toBe(0);
  expectWired(node, pod, add.json as Added);
  // the delegate config kept for DEL: the reference's bytes, mode 0600 in a 0700 directory
  const file = join(dir, 'flannel', cnitoolContainerId(pod.path));
  expect(readFileSync(file, 'utf8')).toBe(expectedDelegate(dir));
  expect(statSync(file).mode & 0o777).toBe(0o600);
  expect(statSync(join(dir, 'flannel')).mode & 0o777).toBe(0o700);
  // the host port, with a real connection from the node (masqueraded to cni0's address)
  expect(await talk(node, 'tcp', '127.0.0.1', 8080)).toBe('pod 10.244.1.1');
  // the classic list is 0.3.1, which has no CHECK: the runtime refuses it as libcni does (CHECK
  // of flannel itself is in the 1.0.0 tests below)
  const check = await run('check', CAP);
  expect(check.code).not.toBe(0);
  expect(check.stdout + check.stderr).toMatch(/configuration version "0\.3\.1" does not support the CHECK command/);
  // DEL needs no subnet.env: it replays the kept file
  rmSync(join(dir, 'subnet.env'));
  const del = await run('del', CAP);
  expect(del.code, del.stdout + del.stderr).toBe(0);
  expectGone({ node, pod, dir, s: o.s });
  expect(await talk(node, 'tcp', '127.0.0.1', 8080)).toMatch(/^error ECONNREFUSED|^timeout/);
}

describe('the classic 10-flannel.conflist', () => {
  it('through our runtime (the fastcni CLI): ADD with a host port, CHECK refused at 0.3.1 as libcni refuses it, DEL', async () => {
    const s = sandbox();
    const { node, pod, dir } = classicSetup(s);
    const run: Run = (verb, env) =>
      fastcni([verb, 'cbr0', pod.name, ...(verb === 'add' ? ['--json'] : [])], { node, env: { ...s.env, ...env } });
    await classic({ node, pod, dir, s, run });
  });

  it.skipIf(!haveCnitool)('through libcni (cnitool): ADD with a host port, CHECK refused at 0.3.1, DEL', async () => {
    const s = cnitoolSandbox();
    const { node, pod, dir } = classicSetup(s);
    const run: Run = (verb, env) => cnitool(s, node, [verb, 'cbr0', pod.path], { env });
    await classic({ node, pod, dir, s, run });
  });

  it('dual stack at 1.0.0: both leases as range sets, both networks as routes, both addresses on eth0; CHECK', async () => {
    const s = sandbox();
    const { node, pod, dir } = classicSetup(s, SUBNET_ENV_DUAL, '1.0.0');
    const add = await fastcni(['add', 'cbr0', pod.name, '--json'], { node, env: s.env });
    expect(add.code, add.stdout + add.stderr).toBe(0);
    const result = add.json as Added;
    expect(result.ips.map((i) => i.address)).toEqual(['10.244.1.2/24', 'fd00:10:244:1::2/64']);
    expect(result.routes).toEqual([
      { dst: '10.244.0.0/16' },
      { dst: 'fd00:10:244::/56' },
      { dst: '0.0.0.0/0', gw: '10.244.1.1' },
      { dst: '::/0', gw: 'fd00:10:244:1::1' },
    ]);
    expect(cidrsOf(pod, 'eth0')).toEqual(['10.244.1.2/24', 'fd00:10:244:1::2/64']);
    // FLANNEL_IPMASQ=false: the delegate masquerades
    expect(masqElements(node).length).toBeGreaterThan(0);
    expect(readFileSync(join(dir, 'flannel', cnitoolContainerId(pod.path)), 'utf8')).toBe(
      expectedDelegate(dir, { dual: true, cniVersion: '1.0.0' }),
    );
    const check = await fastcni(['check', 'cbr0', pod.name], { node, env: s.env });
    expect(check.code, check.stdout + check.stderr).toBe(0);
    const del = await fastcni(['del', 'cbr0', pod.name], { node, env: s.env });
    expect(del.code, del.stdout + del.stderr).toBe(0);
    expectGone({ node, pod, dir, s });
  });
});

describe('flannel refusals and DEL rules', () => {
  /** One ADD of flannel alone, exec'd in the node namespace; the error and that nothing was made. */
  async function refusedAdd(setup: (dir: string) => Record<string, unknown>): Promise<{ code: number; msg: string }> {
    const { node, pod } = nodeAndPod();
    const dir = tempDir('flannel');
    const conf = { cniVersion: '0.3.1', name: 'cbr0', ...flannelPlugin(dir), ...setup(dir) };
    const r = await cni('ADD', { node, pod, id: 'ctr-no', conf });
    expect(r.code, r.stdout).toBe(1);
    expect(addrs(node).map((l) => l.ifname)).toEqual(['lo']);
    expect(existsSync(join(dir, 'flannel')) ? readdirSync(join(dir, 'flannel')) : []).toEqual([]);
    expect(
      existsSync(join(dir, 'networks', 'cbr0')) ? readdirSync(join(dir, 'networks', 'cbr0')).filter((f) => /^\d/.test(f)) : [],
    ).toEqual([]);
    return r.json as { code: number; msg: string };
  }

  const subnetEnvCases: Array<[string, string | undefined, (path: string) => { code: number; msg: string }]> = [
    [
      'subnet.env missing: 11 naming the path',
      undefined,
      (path) => ({
        code: 11,
        msg: `subnetFile ${path} does not exist: flanneld writes it once it has its subnet lease (is flannel running on this node?)`,
      }),
    ],
    [
      'keys missing: 7 naming them and the path',
      'FLANNEL_SUBNET=10.244.1.1/24\nFLANNEL_IPMASQ=true\n',
      (path) => ({
        code: 7,
        msg: `${path} is missing FLANNEL_NETWORK, FLANNEL_IPV6_NETWORK, FLANNEL_MTU (flanneld writes this file: check the flannel pod's log)`,
      }),
    ],
  ];
  for (const [label, text, expected] of subnetEnvCases) {
    it(label, async () => {
      let path = '';
      const err = await refusedAdd((dir) => {
        path = text === undefined ? join(dir, 'subnet.env') : writeSubnetEnv(dir, text);
        return {};
      });
      expect(err).toEqual(expected(path));
    });
  }

  it("a delegate that fails its ADD: its error, and flannel's file is not left behind", async () => {
    const err = await refusedAdd((dir) => {
      writeSubnetEnv(dir, SUBNET_ENV_V4);
      return { delegate: { type: 'bridge', bridge: 'this-name-is-too-long-for-a-link' } };
    });
    expect(err.code).toBe(7);
    expect(err.msg).toMatch(/bridge/);
  });

  it('DEL: no file is success without a delegate; a delegate DEL that fails keeps the file for a retry', async () => {
    const { node, pod } = nodeAndPod();
    const dir = tempDir('flannel');
    const conf = { cniVersion: '0.3.1', name: 'cbr0', ...flannelPlugin(dir) };
    expect(await cni('DEL', { node, pod, id: 'ctr-none', conf })).toMatchObject({ code: 0, stdout: '' });
    mkdirSync(join(dir, 'flannel'), { recursive: true });
    const kept = join(dir, 'flannel', 'ctr-keep');
    writeFileSync(kept, '{"cniVersion":"0.3.1","name":"cbr0","type":"no-such-plugin"}');
    const del = await cni('DEL', { node, pod, id: 'ctr-keep', conf });
    expect(del.code).toBe(1);
    expect((del.json as { msg: string }).msg).toMatch(/no-such-plugin/);
    expect(existsSync(kept)).toBe(true);
    // a file that is not JSON: success, the file stays (as the reference)
    writeFileSync(kept, 'not json');
    expect(await cni('DEL', { node, pod, id: 'ctr-keep', conf })).toMatchObject({ code: 0, stdout: '' });
    expect(existsSync(kept)).toBe(true);
  });
});

describe('flannel GC and STATUS (1.1.0)', () => {
  it('GC: the delegate releases what invalid attachments held, and their files go; the valid one stays', async () => {
    const { node } = nodeAndPod();
    const pods = [nodeAndPod().pod, nodeAndPod().pod];
    const dir = tempDir('flannel');
    // FLANNEL_IPMASQ=false: the delegate masquerades, so it has elements to collect too
    writeSubnetEnv(dir, SUBNET_ENV_DUAL);
    const conf = { cniVersion: '1.1.0', name: 'cbr0', ...flannelPlugin(dir) };
    for (const [i, pod] of pods.entries()) {
      const add = await cni('ADD', { node, pod, id: `ctr-gc${i}`, conf });
      expect(add.code, add.stdout).toBe(0);
    }
    const reserved = () =>
      readdirSync(join(dir, 'networks', 'cbr0'))
        .filter((f) => /^\d+\.\d+\.\d+\.\d+$/.test(f))
        .sort();
    expect(reserved()).toEqual(['10.244.1.2', '10.244.1.3']);
    expect(hasMasqElement(node, '10.244.1.3')).toBe(true);
    expect(readdirSync(join(dir, 'flannel')).sort()).toEqual(['ctr-gc0', 'ctr-gc1']);
    const gcConf = { ...conf, 'cni.dev/valid-attachments': [{ containerID: 'ctr-gc0', ifname: 'eth0' }] };
    const gc = await cni('GC', { node, id: '', conf: gcConf });
    expect(gc, gc.stdout).toMatchObject({ code: 0, stdout: '' });
    expect(reserved()).toEqual(['10.244.1.2']);
    expect(readdirSync(join(dir, 'flannel'))).toEqual(['ctr-gc0']);
    expect(hasMasqElement(node, '10.244.1.3')).toBe(false);
    expect(hasMasqElement(node, '10.244.1.2')).toBe(true);
    const del = await cni('DEL', { node, pod: pods[0], id: 'ctr-gc0', conf });
    expect(del.code, del.stdout).toBe(0);
    expect(reserved()).toEqual([]);
    expect(masqElements(node)).toEqual([]);
  });

  it('STATUS: 50 while subnet.env is missing or incomplete, naming it; then the delegate answers', async () => {
    const { node } = nodeAndPod();
    const dir = tempDir('flannel');
    const conf = { cniVersion: '1.1.0', name: 'cbr0', ...flannelPlugin(dir) };
    const missing = await cni('STATUS', { node, id: '', conf });
    expect(missing.code).toBe(1);
    expect(missing.json).toMatchObject({ code: 50, msg: expect.stringContaining(join(dir, 'subnet.env')) });
    writeSubnetEnv(dir, 'FLANNEL_MTU=1450\n');
    expect((await cni('STATUS', { node, id: '', conf })).json).toMatchObject({
      code: 50,
      msg: expect.stringContaining('is missing FLANNEL_NETWORK'),
    });
    writeSubnetEnv(dir, SUBNET_ENV_V4);
    expect(await cni('STATUS', { node, id: '', conf })).toMatchObject({ code: 0, stdout: '' });
    // the delegate is asked: one that is not there fails
    const noDelegate = await cni('STATUS', { node, id: '', conf: { ...conf, delegate: { type: 'no-such-plugin' } } });
    expect(noDelegate.code).toBe(1);
    expect((noDelegate.json as { msg: string }).msg).toMatch(/no-such-plugin/);
  });
});

describe('flannel from a caller in a mount namespace of its own', () => {
  it('ADD, CHECK, DEL and a refusal: the same bytes through the agent, the fallback and in-process', async () => {
    await onEveryPath(async ({ path, node, pod, caller, env, call }) => {
      const dir = caller.dir;
      // subnet.env and every dataDir where only the caller sees them
      const put = await caller.run(
        'sh',
        ['-c', `cat > ${join(dir, 'data', 'subnet.env')}`],
        { PATH: process.env.PATH ?? '/usr/bin:/bin' },
        SUBNET_ENV_V4,
      );
      expect(put.code, put.stderr).toBe(0);
      const conf = {
        cniVersion: '1.0.0',
        name: 'cbr0',
        type: 'flannel',
        subnetFile: join(dir, 'data-link', 'subnet.env'),
        dataDir: join(dir, 'data-link', 'flannel'),
        ipam: { dataDir: join(dir, 'data', 'networks') },
        delegate: { hairpinMode: true, isDefaultGateway: true },
      };
      const add = await call('flannel', env('ADD'), conf);
      expect(add.code, `${path} ADD ${add.stdout}`).toBe(0);
      expect(cidrsOf(pod, 'eth0')).toEqual(['10.244.1.2/24']);
      expect(existsSync(join(dir, 'data'))).toBe(false);
      expect(await caller.files(join('data', 'flannel'))).toEqual([join(dir, 'data', 'flannel', 'ctr-mnt')]);
      const check = await call('flannel', env('CHECK'), { ...conf, prevResult: JSON.parse(add.stdout) });
      expect(check, `${path} CHECK`).toMatchObject({ code: 0, stdout: '' });
      // the caller's path in the message, never the agent's view of it
      const refused = await call('flannel', env('ADD'), { ...conf, subnetFile: join(dir, 'data', 'nope.env') });
      expect(refused.code).toBe(1);
      expect(refused.stdout).toContain(join(dir, 'data', 'nope.env'));
      expect(refused.stdout).not.toContain('/proc/self/fd');
      const outputs = [stableBridgeResult(add.stdout, bridgePorts(node, 'cni0')[0]), refused.stdout];
      const del = await call('flannel', env('DEL'), conf);
      expect(del, `${path} DEL`).toMatchObject({ code: 0, stdout: '' });
      expect(addrs(pod).map((l) => l.ifname)).toEqual(['lo']);
      expect(await caller.files(join('data', 'flannel'))).toEqual([]);
      expect((await caller.files(join('data', 'networks'))).filter((f) => /\/\d+\.\d+\.\d+\.\d+$/.test(f))).toEqual([]);
      return outputs;
    });
  });
});
