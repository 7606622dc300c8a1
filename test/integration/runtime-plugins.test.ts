// The runtime driving real plugins inside test namespaces: the reference plugins exec'd (in a child
// process under `ip netns exec`, so exec'd plugins act on the node namespace) and ours in-process.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadPlugin } from '../../src/plugins.js';
import { CniRuntime } from '../../src/runtime/cni-runtime.js';
import { mixedPluginDir } from '../helpers/cli.js';
import { bridgeConf, cidrsOf, tempDir } from '../helpers/fixtures.js';
import { makeNetns, type Netns } from '../helpers/netns.js';
import { masqElements } from '../helpers/nft.js';
import { OUR_BIN, REF_BIN, ROOT } from '../helpers/run-plugin.js';

const RUNTIME_JS = join(ROOT, 'dist', 'src', 'runtime', 'index.js');
const PLUGINS_JS = join(ROOT, 'dist', 'src', 'plugins.js');

/** Run one runtime call in a child process inside `node` (exec'd plugins then act there, not on this machine). */
function runInNode(
  node: Netns,
  req: { op: 'add' | 'del'; confDir: string; cacheDir: string; path: string[]; net: string; rt: unknown },
): { ok: boolean; value?: unknown; error?: string } {
  const script = `
    const { CniRuntime } = await import(${JSON.stringify(RUNTIME_JS)});
    const { loadPlugin } = await import(${JSON.stringify(PLUGINS_JS)});
    const req = JSON.parse(process.env.FCNI_REQ);
    const r = new CniRuntime({ confDir: req.confDir, cacheDir: req.cacheDir, pluginPath: req.path, loadPlugin, stderr: () => undefined });
    try {
      const list = await r.loadNetworkList(req.net);
      const value = req.op === 'add' ? await r.addNetworkList(list, req.rt) : await r.delNetworkList(list, req.rt);
      process.stdout.write(JSON.stringify({ ok: true, value }));
    } catch (e) { process.stdout.write(JSON.stringify({ ok: false, error: e.message })); }`;
  const out = spawnSync('ip', ['netns', 'exec', node.name, process.execPath, '--input-type=module', '-e', script], {
    env: { ...process.env, FCNI_REQ: JSON.stringify(req) },
    encoding: 'utf8',
  });
  if (out.status !== 0) throw new Error(`runtime child failed: ${out.stderr}`);
  return JSON.parse(out.stdout) as { ok: boolean; value?: unknown; error?: string };
}

/** A result with addresses, MACs, generated names and sandbox paths blanked. */
function shape(r: unknown): unknown {
  return JSON.parse(
    JSON.stringify(r)
      .replace(/"mac":"[0-9a-f:]+"/g, '"mac":"M"')
      .replace(/"sandbox":"[^"]+"/g, '"sandbox":"S"')
      .replace(/"name":"veth[0-9a-z]+"/g, '"name":"VETH"')
      .replace(/\d+\.\d+\.\d+\.\d+/g, 'A'),
  );
}

function writeConflist(dir: string, name: string, cniVersion: string, plugins: unknown[]): void {
  writeFileSync(join(dir, `10-${name}.conflist`), JSON.stringify({ cniVersion, name, plugins }));
}
const pluginOf = (c: Record<string, unknown>): Record<string, unknown> => {
  const { cniVersion: _v, name: _n, ...rest } = c;
  return rest;
};

describe.skipIf(!existsSync(RUNTIME_JS))('runtime with real plugins', () => {
  it('reference plugins (exec) and ours (in-process) give the same result for the same conflist', async () => {
    const confDir = tempDir('conf');
    const dataDir = tempDir('ipam');
    writeConflist(confDir, 'testnet', '1.0.0', [pluginOf(bridgeConf({ dataDir, extra: { ipMasq: false } }))]);
    // reference: exec'd from /usr/lib/cni by the runtime running inside its node namespace
    const refNode = makeNetns('node');
    const refPod = makeNetns('pod');
    const refCache = tempDir('cache');
    const rt = (pod: Netns, id: string) => ({ containerId: id, netns: pod.path, ifname: 'eth0' });
    const ref = runInNode(refNode, { op: 'add', confDir, cacheDir: refCache, path: [REF_BIN], net: 'testnet', rt: rt(refPod, 'ref') });
    expect(ref.ok, ref.error).toBe(true);
    // ours: in-process, our node namespace as the host
    const node = makeNetns('node');
    const pod = makeNetns('pod');
    const cacheDir = tempDir('cache');
    const runtime = new CniRuntime({
      confDir,
      cacheDir,
      pluginPath: [OUR_BIN, REF_BIN],
      hostNetns: node.path,
      loadPlugin,
      stderr: () => undefined,
    });
    const list = await runtime.loadNetworkList('testnet');
    const ours = await runtime.addNetworkList(list, rt(pod, 'ours'));
    expect(shape(ours)).toEqual(shape(ref.value));
    expect(shape(ours)).toMatchObject({
      interfaces: [{ name: 'fcnibr0' }, { name: 'VETH' }, { name: 'eth0', sandbox: 'S' }],
      ips: [{ address: 'A/24', gateway: 'A', interface: 2 }],
    });
    expect(cidrsOf(pod, 'eth0')).toEqual([(ours as unknown as { ips: Array<{ address: string }> }).ips[0]!.address]);
    expect(readdirSync(join(cacheDir, 'results'))).toEqual(['testnet-ours-eth0']);
    expect(readdirSync(join(refCache, 'results'))).toEqual(['testnet-ref-eth0']);

    await runtime.delNetworkList(list, rt(pod, 'ours'));
    const refDel = runInNode(refNode, { op: 'del', confDir, cacheDir: refCache, path: [REF_BIN], net: 'testnet', rt: rt(refPod, 'ref') });
    expect(refDel.ok, refDel.error).toBe(true);
    expect(cidrsOf(pod, 'eth0')).toEqual([]);
    expect(readdirSync(join(dataDir, 'testnet')).filter((f) => /^\d/.test(f))).toEqual([]);
    expect(readdirSync(join(cacheDir, 'results'))).toEqual([]);
  });

  it('GC releases a leaked reservation and masquerade element, keeping the valid attachment', async () => {
    const node = makeNetns('node');
    const pods = [makeNetns('pod'), makeNetns('pod')];
    const confDir = tempDir('conf');
    const dataDir = tempDir('ipam');
    const cacheDir = tempDir('cache');
    writeConflist(confDir, 'gcnet', '1.1.0', [pluginOf(bridgeConf({ dataDir, name: 'gcnet', cniVersion: '1.1.0' }))]);
    const runtime = new CniRuntime({ confDir, cacheDir, pluginPath: [OUR_BIN], hostNetns: node.path, loadPlugin, stderr: () => undefined });
    const list = await runtime.loadNetworkList('gcnet');
    const addrs: string[] = [];
    for (const [i, pod] of pods.entries()) {
      const r = (await runtime.addNetworkList(list, { containerId: `gc${i}`, netns: pod.path, ifname: 'eth0' })) as unknown as {
        ips: Array<{ address: string }>;
      };
      addrs.push(r.ips[0]!.address.split('/')[0]!);
    }
    expect(masqElements(node).filter((e) => addrs.some((a) => e.includes(a)))).toHaveLength(2);
    // the runtime lost track of gc1 (cache gone), so only a plugin-side GC can clean it up
    rmSync(join(cacheDir, 'results', 'gcnet-gc1-eth0'));
    await runtime.gcNetworkList(list, [{ containerID: 'gc0', ifname: 'eth0' }]);
    const reserved = readdirSync(join(dataDir, 'gcnet')).filter((f) => /^\d/.test(f));
    expect(reserved).toEqual([addrs[0]]);
    expect(masqElements(node).some((e) => e.includes(addrs[1]!))).toBe(false);
    expect(masqElements(node).some((e) => e.includes(addrs[0]!))).toBe(true);
    await runtime.delNetworkList(list, { containerId: 'gc0', netns: pods[0]!.path, ifname: 'eth0' });
    expect(readdirSync(join(dataDir, 'gcnet')).filter((f) => /^\d/.test(f))).toEqual([]);
    expect(masqElements(node).some((e) => e.includes(addrs[0]!))).toBe(false);
  });

  it('our bridge (in-process in the child runtime) chained to the reference portmap at 1.0.0', () => {
    const node = makeNetns('node');
    const pod = makeNetns('pod');
    const confDir = tempDir('conf');
    const dataDir = tempDir('ipam');
    const cacheDir = tempDir('cache');
    writeConflist(confDir, 'pmnet', '1.0.0', [
      pluginOf(bridgeConf({ dataDir, name: 'pmnet', extra: { ipMasq: false } })),
      { type: 'portmap', capabilities: { portMappings: true } },
    ]);
    const rt = {
      containerId: 'pm1',
      netns: pod.path,
      ifname: 'eth0',
      capabilityArgs: { portMappings: [{ hostPort: 18080, containerPort: 80, protocol: 'tcp' }] },
    };
    // the reference portmap first in the path: ours (in dist/cni) would be found before it otherwise
    const path = [mixedPluginDir({ portmap: 'ref' }), OUR_BIN, REF_BIN];
    const add = runInNode(node, { op: 'add', confDir, cacheDir, path, net: 'pmnet', rt });
    expect(add.ok, add.error).toBe(true);
    const addr = (add.value as { ips: Array<{ address: string }> }).ips[0]!.address.split('/')[0]!;
    const nat = execFileSync('ip', ['netns', 'exec', node.name, 'iptables', '-t', 'nat', '-S'], { encoding: 'utf8' });
    expect(nat).toContain('CNI-HOSTPORT-DNAT');
    expect(nat).toMatch(new RegExp(`--dport 18080 .*--to-destination ${addr.replace(/\./g, '\\.')}:80`));
    const del = runInNode(node, { op: 'del', confDir, cacheDir, path, net: 'pmnet', rt });
    expect(del.ok, del.error).toBe(true);
    const after = execFileSync('ip', ['netns', 'exec', node.name, 'iptables', '-t', 'nat', '-S'], { encoding: 'utf8' });
    expect(after).not.toContain('18080');
    expect(cidrsOf(pod, 'eth0')).toEqual([]);
  });
});
