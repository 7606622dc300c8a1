// The ptp plugin next to the reference ptp (Debian's, in /usr/lib/cni): the same config gives the same
// result and kernel state, and each DELs what the other ADDed; through our runtime and through
// libcni (cnitool) with a conflist; and through the agent, the fallback and in-process from a caller
// in a mount namespace of its own, with the same bytes.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cacheFiles, cnitool, cnitoolSandbox, fastcni, haveCnitool, reservations, sandbox, type Sandbox } from '../helpers/cli.js';
import { addrs, cidrsOf, cni, nodeAndPod, tempDir } from '../helpers/fixtures.js';
import { inNs, type Netns } from '../helpers/netns.js';
import { hasMasqElement, masqElements } from '../helpers/nft.js';
import { onEveryPath } from '../helpers/private-caller.js';
import { dadSettled, hostEnds, kernelState, normalized, ptpConf } from '../helpers/ptp.js';
import { OUR_BIN, REF_BIN } from '../helpers/run-plugin.js';

const DUAL = [[{ subnet: '10.98.0.0/24' }], [{ subnet: 'fd98::/64' }]];

const reserved = (dataDir: string) => reservations({ dataDir } as Sandbox, 'ptpnet');

const forwarding = (node: Netns) =>
  ['ipv4/ip_forward', 'ipv6/conf/all/forwarding'].map((k) => inNs(node.name, 'cat', `/proc/sys/net/${k}`).trim());

/** A ptp conflist (no other plugin) in the sandbox's conf dir. */
function writePtpList(s: Sandbox, cniVersion = '1.0.0'): void {
  const { cniVersion: _v, name, ...plugin } = ptpConf({ dataDir: s.dataDir, ranges: DUAL });
  writeFileSync(join(s.confDir, '10-ptpnet.conflist'), JSON.stringify({ cniVersion, name, plugins: [plugin] }));
}

describe('ptp next to the reference ptp', () => {
  it('the same config gives the same result and kernel state on both sides of the veth', async () => {
    const sides = [
      { label: 'ref', binDir: REF_BIN, ...nodeAndPod(), dataDir: tempDir('ipam') },
      { label: 'ours', binDir: OUR_BIN, ...nodeAndPod(), dataDir: tempDir('ipam') },
    ];
    const results: unknown[] = [];
    for (const s of sides) {
      // Debian's ptp masquerades with iptables: compared without ipMasq
      const conf = ptpConf({ dataDir: s.dataDir, ranges: DUAL, extra: { ipMasq: false, mtu: 1400 } });
      const add = await cni('ADD', { node: s.node, pod: s.pod, id: 'ctr-interop', conf, binDir: s.binDir, path: s.binDir });
      expect(add.code, `${s.label}: ${add.stdout}${add.stderr}`).toBe(0);
      const { dns, interfaces, ...rest } = add.json as { dns?: object; interfaces: Array<{ sandbox?: string }> };
      // Debian's ptp prints an empty `dns: {}`, which newer reference releases (and we) leave out
      expect(Object.keys(dns ?? {}), s.label).toEqual([]);
      results.push(normalized({ ...rest, interfaces: interfaces.map(({ sandbox: _, ...i }) => i) }));
    }
    const [ref, ours] = sides as [(typeof sides)[0], (typeof sides)[0]];
    expect(results[1]).toEqual(results[0]);
    // the gateway's local route comes with the end of its DAD on the host end, as the reference leaves it
    for (const s of sides) await dadSettled(s.node);
    expect(kernelState(ours.pod)).toEqual(kernelState(ref.pod));
    expect(kernelState(ours.node)).toEqual(kernelState(ref.node));
    expect(forwarding(ours.node)).toEqual(forwarding(ref.node));

    // each DELs what the other ADDed, with the other's host-local on the same dataDir
    for (const [s, binDir] of [
      [ref, OUR_BIN],
      [ours, REF_BIN],
    ] as const) {
      const conf = ptpConf({ dataDir: s.dataDir, ranges: DUAL, extra: { ipMasq: false } });
      const del = await cni('DEL', { node: s.node, pod: s.pod, id: 'ctr-interop', conf, binDir, path: binDir });
      expect(del, `${binDir} DEL of ${s.label}'s ADD`).toMatchObject({ code: 0, stdout: '' });
      expect(hostEnds(s.node)).toEqual([]);
      expect(addrs(s.pod).map((l) => l.ifname)).toEqual(['lo']);
      expect(reserved(s.dataDir)).toEqual([]);
    }
  });

  it('CHECK by each of what the other ADDed', async () => {
    for (const [adder, checker] of [
      [REF_BIN, OUR_BIN],
      [OUR_BIN, REF_BIN],
    ] as const) {
      const { node, pod } = nodeAndPod();
      const conf = ptpConf({ dataDir: tempDir('ipam'), extra: { ipMasq: false } });
      const add = await cni('ADD', { node, pod, id: 'ctr-x', conf, binDir: adder, path: adder });
      expect(add.code, add.stdout).toBe(0);
      const check = await cni('CHECK', { node, pod, id: 'ctr-x', conf: { ...conf, prevResult: add.json }, binDir: checker, path: checker });
      expect(check, `${checker} CHECK of ${adder}'s ADD`).toMatchObject({ code: 0, stdout: '' });
      expect((await cni('DEL', { node, pod, id: 'ctr-x', conf, binDir: adder, path: adder })).code).toBe(0);
    }
  });
});

describe('ptp through a runtime', () => {
  it('our runtime: ADD, CHECK, DEL of a conflist, with its cache', async () => {
    const { node, pod } = nodeAndPod();
    const s = sandbox();
    writePtpList(s);
    const add = await fastcni(['add', 'ptpnet', pod.name, '--json'], { node, env: s.env });
    expect(add.code, add.stderr).toBe(0);
    expect((add.json as { ips: Array<{ address: string }> }).ips.map((i) => i.address)).toEqual(['10.98.0.2/24', 'fd98::2/64']);
    expect(cidrsOf(pod, 'eth0')).toEqual(['10.98.0.2/24', 'fd98::2/64']);
    expect(cacheFiles(s)).toHaveLength(1);
    const check = await fastcni(['check', 'ptpnet', pod.name], { node, env: s.env });
    expect(check.code, check.stderr).toBe(0);
    const del = await fastcni(['del', 'ptpnet', pod.name], { node, env: s.env });
    expect(del.code, del.stderr).toBe(0);
    expect(hostEnds(node)).toEqual([]);
    expect(reserved(s.dataDir)).toEqual([]);
    expect(masqElements(node)).toEqual([]);
    expect(cacheFiles(s)).toEqual([]);
  });

  it.skipIf(!haveCnitool)('libcni (cnitool): ADD, CHECK, DEL of a conflist', async () => {
    const { node, pod } = nodeAndPod();
    const s = cnitoolSandbox();
    writePtpList(s);
    const add = await cnitool(s, node, ['add', 'ptpnet', pod.path]);
    expect(add.code, add.stderr).toBe(0);
    expect(cidrsOf(pod, 'eth0')).toEqual(['10.98.0.2/24', 'fd98::2/64']);
    expect(hasMasqElement(node, '10.98.0.2')).toBe(true);
    const check = await cnitool(s, node, ['check', 'ptpnet', pod.path]);
    expect(check.code, check.stderr).toBe(0);
    const del = await cnitool(s, node, ['del', 'ptpnet', pod.path]);
    expect(del.code, del.stderr).toBe(0);
    expect(hostEnds(node)).toEqual([]);
    expect(reserved(s.dataDir)).toEqual([]);
    expect(masqElements(node)).toEqual([]);
  });
});

describe('ptp from a caller in a mount namespace of its own', () => {
  it('ADD, CHECK, a failed ADD, DEL and a DEL of a namespace that is gone: same bytes through the agent, the fallback and in-process', async () => {
    await onEveryPath(async ({ path, node, pod, caller, env: envOf, call: callPlugin }) => {
      // IPAM state where only the caller sees it
      const conf = ptpConf({ dataDir: join(caller.dir, 'data-link', 'ipam') });
      const env = (command: string, netns = caller.netnsPath, id = 'ctr-mnt') => envOf(command, { CNI_NETNS: netns, CNI_CONTAINERID: id });
      const call = (e: Record<string, string>, c: unknown = conf) => callPlugin('ptp', e, c);
      const add = await call(env('ADD'));
      expect(add, `${path} ADD`).toMatchObject({ code: 0, stderr: '' });
      const result = JSON.parse(add.stdout) as { interfaces: Array<{ sandbox?: string }> };
      expect(result.interfaces[1]!.sandbox).toBe(caller.netnsPath);
      expect(cidrsOf(pod, 'eth0')).toEqual(['10.98.0.2/24']);
      expect(hostEnds(node)).toHaveLength(1);
      expect((await caller.files(join('data', 'ipam', 'ptpnet'))).map((f) => f.slice(f.lastIndexOf('/') + 1))).toContain('10.98.0.2');
      const check = await call(env('CHECK'), { ...conf, prevResult: result });
      expect(check, `${path} CHECK`).toEqual({ code: 0, stdout: '', stderr: '' });
      const missing = join(caller.dir, 'netns', 'missing');
      // another attachment, so that IPAM allocates (and the failure releases) an address of its own
      const failed = await call(env('ADD', missing, 'ctr-missing'));
      expect(failed.code, `${path} ${failed.stdout}`).toBe(1);
      expect(failed.stdout).toContain(missing);
      expect(failed.stdout + failed.stderr).not.toContain('/proc/self/fd');
      expect((await caller.files(join('data', 'ipam', 'ptpnet'))).filter((f) => /\/\d+\.\d+\.\d+\.\d+$/.test(f))).toHaveLength(1);
      const del = await call(env('DEL'));
      expect(del, `${path} DEL`).toEqual({ code: 0, stdout: '', stderr: '' });
      expect(hostEnds(node)).toEqual([]);
      expect(masqElements(node)).toEqual([]);
      const gone = await call(env('DEL', missing));
      expect(gone, `${path} DEL of a missing namespace`).toEqual({ code: 0, stdout: '', stderr: '' });
      expect((await caller.files(join('data', 'ipam', 'ptpnet'))).filter((f) => /\/\d+\.\d+\.\d+\.\d+$/.test(f))).toEqual([]);
      expect(await caller.files('netns')).toEqual([join(caller.dir, 'netns', 'pod')]);
      return [JSON.stringify(normalized(JSON.parse(add.stdout))), failed.stdout];
    });
  });
});
