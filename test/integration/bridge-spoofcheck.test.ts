// bridge macspoofchk through the built binaries: real frames with a spoofed source MAC are dropped
// at the bridge; the nftables state is read with nft(8) inside the node namespace.
import { describe, expect, it } from 'vitest';
import { inNs, ip, makeNetns, removeNetns, type Netns } from '../helpers/netns.js';
import { bridgeConf, cidrsOf, cni, tempDir } from '../helpers/fixtures.js';
import { ruleset } from '../helpers/nft.js';

type Json = Record<string, any>;

/** Our spoof-check elements in table `bridge fastcni`, as "<comment> <port>[ <mac>]". */
function spoofElements(ns: Netns): string[] {
  const out: string[] = [];
  for (const item of ruleset(ns)) {
    const set = item.set as Json | undefined;
    if (set?.family !== 'bridge' || set.table !== 'fastcni') continue;
    for (const e of (set.elem ?? []) as Json[]) {
      const val = e.elem?.val ?? e;
      const key = typeof val === 'string' ? val : (val.concat as string[]).join(' ');
      out.push(`${e.elem?.comment ?? ''} ${key}`);
    }
  }
  return out.sort();
}

function canPing(from: Netns, to: string): boolean {
  try {
    inNs(from.name, 'ping', '-c', '1', '-W', '1', to);
    return true;
  } catch {
    return false;
  }
}

function flushNeigh(...pods: Netns[]): void {
  for (const p of pods) ip('-n', p.name, 'neigh', 'flush', 'dev', 'eth0');
}

interface Pod {
  ns: Netns;
  id: string;
  ip: string;
  hostVeth: string;
  mac: string;
}

async function addPod(node: Netns, conf: unknown, id: string): Promise<Pod> {
  const ns = makeNetns('pod');
  const add = await cni('ADD', { node, pod: ns, id, conf });
  expect(add.code, add.stdout + add.stderr).toBe(0);
  const res = add.json as Json;
  return { ns, id, ip: cidrsOf(ns, 'eth0')[0]!.split('/')[0]!, hostVeth: res.interfaces[1].name, mac: res.interfaces[2].mac };
}

describe('bridge macspoofchk', () => {
  it('drops frames from a pod whose source MAC is not its own', async () => {
    const node = makeNetns('node');
    const conf = bridgeConf({ dataDir: tempDir('ipam'), extra: { macspoofchk: true } });
    const a = await addPod(node, conf, 'ctr-a');
    const b = await addPod(node, conf, 'ctr-b');

    // the ruleset as nft sees it: one base chain, one rule, and two elements per pod
    const rs = ruleset(node);
    const chain = rs.map((i) => i.chain as Json | undefined).find((c) => c?.family === 'bridge' && c.table === 'fastcni');
    expect(chain).toMatchObject({ name: 'prerouting', type: 'filter', hook: 'prerouting', prio: -300, policy: 'accept' });
    const rules = rs.map((i) => i.rule as Json | undefined).filter((r) => r?.family === 'bridge' && r.table === 'fastcni');
    expect(rules).toHaveLength(1);
    const [guard, mismatch, verdict] = rules[0]!.expr as Json[];
    expect(guard!.match).toMatchObject({ op: '==', left: { meta: { key: 'iifname' } }, right: expect.stringMatching(/^@spoof-if-/) });
    expect(mismatch!.match).toMatchObject({
      op: '!=',
      left: { concat: [{ meta: { key: 'iifname' } }, { payload: { protocol: 'ether', field: 'saddr' } }] },
      right: expect.stringMatching(/^@spoof-mac-/),
    });
    expect(verdict).toEqual({ drop: null });
    expect(spoofElements(node)).toEqual(
      [
        `ctr-a/eth0 ${a.hostVeth}`,
        `ctr-a/eth0 ${a.hostVeth} ${a.mac}`,
        `ctr-b/eth0 ${b.hostVeth}`,
        `ctr-b/eth0 ${b.hostVeth} ${b.mac}`,
      ].sort(),
    );

    // with its own MAC pod A reaches pod B
    expect(canPing(a.ns, b.ip)).toBe(true);
    // with another MAC (ARP and IP alike) it does not
    ip('-n', a.ns.name, 'link', 'set', 'eth0', 'address', '02:00:5e:00:53:99');
    flushNeigh(a.ns, b.ns);
    expect(canPing(a.ns, b.ip)).toBe(false);
    expect(canPing(b.ns, a.ip)).toBe(false);
    // and with its MAC back, it does again
    ip('-n', a.ns.name, 'link', 'set', 'eth0', 'address', a.mac);
    flushNeigh(a.ns, b.ns);
    expect(canPing(a.ns, b.ip)).toBe(true);
    // control: a pod of another network on the same bridge without macspoofchk may change its MAC
    const plain = bridgeConf({
      name: 'plainnet',
      dataDir: tempDir('ipam'),
      ranges: [[{ subnet: '10.99.0.0/24', rangeStart: '10.99.0.100' }]],
    });
    const c = await addPod(node, plain, 'ctr-c');
    ip('-n', c.ns.name, 'link', 'set', 'eth0', 'address', '02:00:5e:00:53:98');
    flushNeigh(c.ns, b.ns);
    expect(canPing(c.ns, b.ip)).toBe(true);
    expect(spoofElements(node)).toHaveLength(4);
    expect((await cni('DEL', { node, pod: c.ns, id: c.id, conf: plain })).code).toBe(0);

    // DEL removes the pod's elements and leaves the other pod's
    expect((await cni('DEL', { node, pod: a.ns, id: a.id, conf })).code).toBe(0);
    expect(spoofElements(node)).toEqual([`ctr-b/eth0 ${b.hostVeth}`, `ctr-b/eth0 ${b.hostVeth} ${b.mac}`].sort());
    expect((await cni('DEL', { node, pod: b.ns, id: b.id, conf })).code).toBe(0);
    expect((await cni('DEL', { node, pod: b.ns, id: b.id, conf })).code).toBe(0); // idempotent
    expect(spoofElements(node)).toEqual([]);
  });

  it('DEL removes the elements even when the pod namespace is gone', async () => {
    const node = makeNetns('node');
    const conf = bridgeConf({ dataDir: tempDir('ipam'), extra: { macspoofchk: true } });
    const a = await addPod(node, conf, 'ctr-gone');
    expect(spoofElements(node)).toHaveLength(2);
    removeNetns(a.ns.name);
    const del = await cni('DEL', { node, netnsPath: a.ns.path, id: a.id, conf });
    expect(del.code, del.stdout + del.stderr).toBe(0);
    expect(spoofElements(node)).toEqual([]);
  });

  it('DEL leaves elements on its port that another attachment owns now', async () => {
    const node = makeNetns('node');
    const conf = bridgeConf({ dataDir: tempDir('ipam'), extra: { macspoofchk: true } });
    const a = await addPod(node, conf, 'ctr-old');
    // The same keys (port, port . MAC) recorded for another attachment, as after a missed DEL and
    // a reused veth name: the DEL of ctr-old looks there first and must not take them.
    const sets = (
      ruleset(node)
        .map((i) => i.set as Json | undefined)
        .filter((x) => x?.family === 'bridge') as Json[]
    ).map((x) => x.name as string);
    const ifSet = sets.find((n) => n.startsWith('spoof-if-'))!;
    const macSet = sets.find((n) => n.startsWith('spoof-mac-'))!;
    const mine = `{ "${a.hostVeth}" comment "ctr-old/eth0" }`;
    const theirs = (key: string) => `{ ${key} comment "ctr-new/eth0" }`;
    inNs(node.name, 'nft', `delete element bridge fastcni ${ifSet} ${mine}`);
    inNs(node.name, 'nft', `delete element bridge fastcni ${macSet} { "${a.hostVeth}" . ${a.mac} }`);
    inNs(node.name, 'nft', `add element bridge fastcni ${ifSet} ${theirs(`"${a.hostVeth}"`)}`);
    inNs(node.name, 'nft', `add element bridge fastcni ${macSet} ${theirs(`"${a.hostVeth}" . ${a.mac}`)}`);
    const del = await cni('DEL', { node, pod: a.ns, id: a.id, conf });
    expect(del.code, del.stdout + del.stderr).toBe(0);
    expect(spoofElements(node)).toEqual([`ctr-new/eth0 ${a.hostVeth}`, `ctr-new/eth0 ${a.hostVeth} ${a.mac}`].sort());
  });

  it('concurrent first ADDs on a fresh node create the chain, sets and rule once', async () => {
    const node = makeNetns('node');
    const conf = bridgeConf({ dataDir: tempDir('ipam'), extra: { macspoofchk: true } });
    const pods = await Promise.all([0, 1, 2, 3, 4, 5].map((i) => addPod(node, conf, `ctr-par-${i}`)));
    const rs = ruleset(node);
    expect(rs.filter((i) => (i.rule as Json | undefined)?.family === 'bridge')).toHaveLength(1);
    expect(rs.filter((i) => (i.set as Json | undefined)?.family === 'bridge')).toHaveLength(2);
    expect(spoofElements(node)).toHaveLength(12);
    await Promise.all(pods.map(async (p) => expect((await cni('DEL', { node, pod: p.ns, id: p.id, conf })).code).toBe(0)));
    expect(spoofElements(node)).toEqual([]);
  });

  it('GC removes the elements of attachments that are no longer valid', async () => {
    const node = makeNetns('node');
    const conf = bridgeConf({ cniVersion: '1.1.0', dataDir: tempDir('ipam'), extra: { macspoofchk: true } });
    const a = await addPod(node, conf, 'ctr-keep');
    await addPod(node, conf, 'ctr-stale');
    expect(spoofElements(node)).toHaveLength(4);
    const gcConf = { ...(conf as Json), 'cni.dev/valid-attachments': [{ containerID: 'ctr-keep', ifname: 'eth0' }] };
    const gc = await cni('GC', { node, id: 'gc', conf: gcConf });
    expect(gc.code, gc.stdout + gc.stderr).toBe(0);
    expect(spoofElements(node)).toEqual([`ctr-keep/eth0 ${a.hostVeth}`, `ctr-keep/eth0 ${a.hostVeth} ${a.mac}`].sort());
    expect((await cni('DEL', { node, pod: a.ns, id: a.id, conf })).code).toBe(0);
    expect(spoofElements(node)).toEqual([]);
  });
});
