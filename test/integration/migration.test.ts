// A node moving between the reference plugins and fastcni with pods running, both ways: pods ADDed
// by the reference (Debian's v1.1.1 in /usr/lib/cni, iptables through iptables-nft; v1.10.0 in
// .cache/bin/ref, nftables masquerade), then ours ADDed on the same network and host-local dataDir;
// our DEL (and GC) of the reference's pods removes exactly their reference objects, the reference's
// DEL of ours succeeds and our next GC removes the elements it leaves. See docs/MIGRATION.md.
import { createHash } from 'node:crypto';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { fastcni, reservations, sandbox, type Sandbox } from '../helpers/cli.js';
import { bridgeConf, cidrsOf, cni, tempDir } from '../helpers/fixtures.js';
import { ownedBy, referenceObjects } from '../helpers/migration.js';
import { inNs, makeNetns, removeNetns, type Netns } from '../helpers/netns.js';
import { masqElements } from '../helpers/nft.js';
import { portmapElements } from '../helpers/portmap.js';
import { ptpConf } from '../helpers/ptp.js';
import { OUR_BIN, REF_BIN, ROOT } from '../helpers/run-plugin.js';

const REF10_BIN = join(ROOT, '.cache', 'bin', 'ref');
const haveRef10 = (plugin: string) => existsSync(join(REF10_BIN, plugin));

type Conf = Record<string, unknown>;

interface Net {
  node: Netns;
  conf: Conf;
  dataDir: string;
  /** the reference's plugins and IPAM (Debian's or v1.10.0) */
  ref: string;
  /** the IPv4 /24 of the network */
  subnet: string;
}

/** Each container's pod namespace (made on first use; the namespaces go when the test ends). */
const pods = new Map<string, Netns>();
beforeEach(() => pods.clear());
function podOf(id: string): Netns {
  let pod = pods.get(id);
  if (!pod) {
    pod = makeNetns('pod');
    pods.set(id, pod);
  }
  return pod;
}

/** One plugin call on the network's node, by the reference's binaries or ours (each with its own IPAM). */
async function call(n: Net, command: string, id: string, by: 'ref' | 'ours', conf: Conf = n.conf) {
  const binDir = by === 'ref' ? n.ref : OUR_BIN;
  const r = await cni(command, { node: n.node, pod: podOf(id), id, conf, binDir, path: binDir });
  expect(r.code, `${by} ${command} ${id}: ${r.stdout}${r.stderr}`).toBe(0);
  return r;
}

const reserved = (n: Net) => reservations({ dataDir: n.dataDir } as Sandbox, n.conf.name as string);

/** GC by our plugin, keeping `valid`. */
async function ourGc(n: Net, valid: string[]) {
  const conf = {
    ...n.conf,
    cniVersion: '1.1.0',
    'cni.dev/valid-attachments': valid.map((containerID) => ({ containerID, ifname: 'eth0' })),
  };
  const r = await cni('GC', { node: n.node, id: 'gc', conf, binDir: OUR_BIN, path: OUR_BIN });
  expect(r.code, `ours GC: ${r.stdout}${r.stderr}`).toBe(0);
  return r;
}

/** Our runtime (`fastcni`) on the network's node, with a conflist of the network and a cache. */
function ourRuntime(n: Net) {
  const s = sandbox();
  const { cniVersion, name, ...plugin } = n.conf;
  writeFileSync(join(s.confDir, '10-mig.conflist'), JSON.stringify({ cniVersion, name, plugins: [plugin] }));
  return async (...args: string[]) => {
    const r = await fastcni([...args, '--json'], { node: n.node, env: s.env });
    expect(r.code, `fastcni ${args.join(' ')}: ${r.stdout}${r.stderr}`).toBe(0);
    return JSON.parse(r.stdout || 'null') as unknown;
  };
}

/**
 * The whole move on one network: the reference ADDs A and B; our runtime ADDs C (the next
 * address, none twice); our DEL of A (its namespace gone) removes A's reference objects and
 * nothing else; back to the
 * reference: `fastcni handback`, then the reference's DEL of C succeeds, leaving our masquerade
 * element of C, which our GC (B valid) removes, keeping B's reference objects and removing those
 * of D, a reference pod whose DEL never came; the reference's DEL of B leaves nothing of A, B or C.
 */
async function moveAndBack(n: Net, expectObjects: (objs: string[]) => void) {
  const net = n.conf.name as string;
  const [a, b] = ['mig-a1', 'mig-b2'];
  // another owner's chain and jump in the same table (kube-proxy's, say): never touched
  inNs(n.node.name, 'iptables-nft', '-t', 'nat', '-N', 'KUBE-POSTROUTING');
  inNs(n.node.name, 'iptables-nft', '-t', 'nat', '-A', 'POSTROUTING', '-j', 'KUBE-POSTROUTING', '-m', 'comment', '--comment', 'kube');
  await call(n, 'ADD', a, 'ref');
  await call(n, 'ADD', b, 'ref');
  const before = referenceObjects(n.node);
  expectObjects(before.filter((o) => ownedBy(o, { network: net, containerId: a })));
  const ours = ourRuntime(n);
  const podC = makeNetns('pod');
  await ours('add', net, podC.path);
  const [{ containerId: c }] = ((await ours('list')) as { attachments: Array<{ containerId: string }> }).attachments as [
    { containerId: string },
  ];
  pods.set(c, podC);
  const v4 = (id: string) => cidrsOf(podOf(id), 'eth0').find((x) => x.includes('.'));
  expect([a, b, c].map(v4)).toEqual(['.2', '.3', '.4'].map((h) => `${n.subnet.replace(/\.0\/24$/, h)}/24`));
  expect(referenceObjects(n.node), 'our ADD touches no reference object').toEqual(before);

  // A's namespace is already gone, as after a reboot: the reference's own DEL, keyed by the
  // addresses of the link, would leak its masquerade chain here
  removeNetns(podOf(a).name);
  const del = await call(n, 'DEL', a, 'ours');
  expect(del.stderr).not.toContain('warning');
  const left = before.filter((o) => !ownedBy(o, { network: net, containerId: a }));
  expect(referenceObjects(n.node)).toEqual(left);
  expect(reserved(n).length).toBe(2);

  // back to the reference
  const cAddress = v4(c)!.replace('/24', '');
  expect(await ours('handback')).toEqual([
    { network: net, containerId: c, ifname: 'eth0', chains: [expect.stringMatching(/^chain ip nat CNI-/)] },
  ]);
  await call(n, 'DEL', c, 'ref');
  expect(reserved(n).length).toBe(1);
  expect(masqElements(n.node).join(), 'the reference leaves our element').toContain(cAddress);
  expect(referenceObjects(n.node), "the reference's DEL removes what handback made").toEqual(left);
  // D: a pod of the reference whose DEL never comes (its node "rebooted"); GC with B valid
  const d = 'mig-d4';
  await call(n, 'ADD', d, 'ref');
  const dOwned = referenceObjects(n.node).filter((o) => ownedBy(o, { network: net, containerId: d }));
  expect(dOwned.length).toBeGreaterThan(0);
  await ourGc(n, [b]);
  expect(masqElements(n.node)).toEqual([]);
  expect(reserved(n).length, "GC releases D's address").toBe(1);
  // spoof-check chains carry no network name: GC leaves them to the runtime's DEL of D
  const unnamed = dOwned.filter((o) => o.startsWith('bridge nat'));
  expect(referenceObjects(n.node), "our GC removes D's masquerade objects and keeps the valid pod's").toEqual([...left, ...unnamed].sort());

  await call(n, 'DEL', b, 'ref');
  expect(reserved(n)).toEqual([]);
  expect(referenceObjects(n.node).filter((o) => [a, b, c].some((id) => ownedBy(o, { network: net, containerId: id })))).toEqual([]);
  expect(referenceObjects(n.node)).toEqual(
    expect.arrayContaining(['ip nat chain KUBE-POSTROUTING', 'ip nat POSTROUTING -> KUBE-POSTROUTING # ']),
  );
}

function bridgeNet(ref: string, extra: Conf, subnet = '10.97.0.0/24'): Net {
  const node = makeNetns('node');
  const dataDir = tempDir('ipam');
  const conf = bridgeConf({ name: 'mignet', bridge: 'migbr0', subnet, dataDir, extra });
  return { node, conf, dataDir, ref, subnet };
}

function ptpNet(ref: string, extra: Conf, subnet = '10.95.0.0/24'): Net {
  const node = makeNetns('node');
  const dataDir = tempDir('ipam');
  const conf = ptpConf({ name: 'migptp', dataDir, ranges: [[{ subnet }]], extra });
  return { node, conf, dataDir, ref, subnet };
}

const iptablesMasq = (mine: string[]) => {
  expect(mine.some((o) => o.startsWith('ip nat chain CNI-'))).toBe(true);
  expect(mine.some((o) => o.startsWith('ip nat POSTROUTING -> CNI-'))).toBe(true);
};
const nftMasq = (mine: string[]) => expect(mine.some((o) => o.startsWith('inet cni_plugins_masquerade masq_checks'))).toBe(true);

describe('moving a node between the reference plugins and fastcni, and back', () => {
  it("bridge with ipMasq and macspoofchk, Debian's v1.1.1 (iptables-nft masquerade, nft spoof check)", async () => {
    await moveAndBack(bridgeNet(REF_BIN, { macspoofchk: true }), (mine) => {
      iptablesMasq(mine);
      expect(mine.some((o) => o.startsWith('bridge nat chain cni-br-iface-mig-a1-eth0'))).toBe(true);
      expect(mine.some((o) => o.startsWith('bridge nat PREROUTING -> cni-br-iface-mig-a1-eth0'))).toBe(true);
    });
  });

  it("ptp with ipMasq, Debian's v1.1.1", async () => {
    await moveAndBack(ptpNet(REF_BIN, {}), iptablesMasq);
  });

  it.skipIf(!haveRef10('bridge'))('bridge with ipMasq, v1.10.0 on its nftables backend, macspoofchk', async () => {
    await moveAndBack(bridgeNet(REF10_BIN, { ipMasqBackend: 'nftables', macspoofchk: true }), nftMasq);
  });

  it.skipIf(!haveRef10('ptp'))('ptp with ipMasq, v1.10.0 on its iptables backend', async () => {
    await moveAndBack(ptpNet(REF10_BIN, { ipMasqBackend: 'iptables' }), iptablesMasq);
  });
});

/**
 * portmap, both ways: the reference's bridge + portmap ADD A and B (one host port each); our
 * portmap DEL of A removes exactly A's reference objects; our bridge + portmap ADD C; the
 * reference's portmap DEL of C succeeds and leaves our elements, which our GC (B valid) removes,
 * with the iptables chains of D, a reference pod whose DEL never came.
 */
async function portmapBothWays(ref: string, backend: Conf) {
  const n = bridgeNet(ref, { ipMasq: false }, '10.94.0.0/24');
  const portmap = (hostPort: number, prevResult: unknown): Conf => ({
    cniVersion: '1.0.0',
    name: n.conf.name,
    type: 'portmap',
    runtimeConfig: { portMappings: [{ hostPort, containerPort: 80, protocol: 'tcp' }] },
    prevResult,
    ...backend,
  });
  const added = new Map<string, unknown>();
  const [a, b, c] = ['pm-a1', 'pm-b2', 'pm-c3'];
  for (const [id, port, by] of [
    [a, 8081, 'ref'],
    [b, 8082, 'ref'],
  ] as const) {
    const result = (await call(n, 'ADD', id, by)).json;
    added.set(id, result);
    await call(n, 'ADD', id, by, portmap(port, result));
  }
  const before = referenceObjects(n.node);
  const aOwned = before.filter((o) => ownedBy(o, { network: 'mignet', containerId: a }));
  expect(aOwned.length, before.join('\n')).toBeGreaterThan(0);
  await call(n, 'DEL', a, 'ours', portmap(8081, added.get(a)));
  const left = before.filter((o) => !ownedBy(o, { network: 'mignet', containerId: a }));
  expect(referenceObjects(n.node)).toEqual(left);

  const cResult = (await call(n, 'ADD', c, 'ours')).json;
  await call(n, 'ADD', c, 'ours', portmap(8083, cResult));
  expect(referenceObjects(n.node), 'our ADD touches no reference object').toEqual(left);
  expect(portmapElements(n.node).join('\n')).toContain('8083');
  await call(n, 'DEL', c, 'ref', portmap(8083, cResult));
  expect(portmapElements(n.node).join('\n'), 'the reference leaves our elements').toContain('8083');
  // D: a reference pod whose DEL never comes
  const d = 'pm-d4';
  await call(n, 'ADD', d, 'ref', portmap(8084, (await call(n, 'ADD', d, 'ref')).json));
  const dOwned = referenceObjects(n.node).filter((o) => ownedBy(o, { network: 'mignet', containerId: d }));
  expect(dOwned.length).toBeGreaterThan(0);
  await ourGc({ ...n, conf: { cniVersion: '1.0.0', name: n.conf.name, type: 'portmap', ...backend } }, [b]);
  expect(portmapElements(n.node)).toEqual([]);
  // nftables portmap rules carry no network name: GC leaves them to the runtime's DEL of D
  const unnamed = backend.backend === 'nftables' ? dOwned : [];
  expect(referenceObjects(n.node), "our GC removes D's iptables chains and keeps the valid pod's").toEqual([...left, ...unnamed].sort());
  await call(n, 'DEL', b, 'ours', portmap(8082, added.get(b)));
  expect(referenceObjects(n.node).filter((o) => ownedBy(o, { network: 'mignet', containerId: b }))).toEqual([]);
}

describe('portmap with a hostPort, both ways', () => {
  it("Debian's v1.1.1 (iptables-nft chains)", async () => {
    await portmapBothWays(REF_BIN, {});
  });

  it.skipIf(!haveRef10('portmap'))('v1.10.0 on its nftables backend', async () => {
    await portmapBothWays(REF10_BIN, { backend: 'nftables' });
  });
});

describe('a host whose iptables is the legacy backend', () => {
  it.skipIf(!existsSync('/usr/sbin/iptables-legacy'))("DEL names the reference's legacy chains it cannot remove", async () => {
    const n = bridgeNet(REF_BIN, {});
    const chain = `CNI-${createHash('sha512').update('mignetmig-l1').digest('hex')}`.slice(0, 28);
    // the reference's masquerade chain as iptables-legacy would have left it (x_tables, out of nf_tables' reach)
    inNs(n.node.name, 'iptables-legacy', '-t', 'nat', '-N', chain);
    await call(n, 'ADD', 'mig-l1', 'ours');
    const del = await call(n, 'DEL', 'mig-l1', 'ours');
    expect(del.stderr).toContain('warning: iptables-legacy (x_tables) table ip nat is in use on this host');
    expect(del.stderr).toContain(chain);
    expect(inNs(n.node.name, 'iptables-legacy', '-t', 'nat', '-S', chain).trim()).toBe(`-N ${chain}`);
    // a node without legacy tables: no warning
    const m = bridgeNet(REF_BIN, {});
    await call(m, 'ADD', 'mig-l2', 'ours');
    expect((await call(m, 'DEL', 'mig-l2', 'ours')).stderr).toBe('');
  });
});
