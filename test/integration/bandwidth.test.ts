// The bandwidth plugin on a bare veth between a node and a pod namespace: the kernel state it makes
// (read with tc and ip) against the reference plugin's on an identical setup, DEL across the two
// implementations, CHECK, a real transfer in each direction at the configured rate, bad inputs and
// a failed ADD leaving nothing behind.
import { describe, expect, it } from 'vitest';
import { bareVeth, ifbs, ingressFilters, qdiscs, shapingOf, transferRate, type BareVeth } from '../helpers/bandwidth.js';
import { cni, nodeAndPod } from '../helpers/fixtures.js';
import { ip, removeNetns, type Netns } from '../helpers/netns.js';
import { OUR_BIN, REF_BIN, type PluginRun } from '../helpers/run-plugin.js';

const NONE = { qdiscs: [], ifbs: [] };

const LIMITS = { ingressRate: 8_000_000, ingressBurst: 800_000, egressRate: 4_000_000, egressBurst: 800_000 };
/** The reference's IFB name for network "bwnet" and container "ctr-bw": bwp + sha512("bwnetctr-bw")[:12]. */
const IFB = 'bwp371e0cbb36b3';

interface ErrJson {
  code: number;
  msg: string;
}

function bw(
  command: string,
  o: { node: Netns; pod: Netns; veth?: BareVeth; fields?: Record<string, unknown>; bin?: string; ifname?: string },
): Promise<PluginRun> {
  const conf = { cniVersion: '1.0.0', name: 'bwnet', type: 'bandwidth', ...(o.fields ?? LIMITS), prevResult: o.veth?.prevResult };
  return cni(command, { node: o.node, pod: o.pod, id: 'ctr-bw', ifname: o.ifname, conf, binDir: o.bin ?? OUR_BIN });
}

/** The tc state of a node, as tc -j prints it (counters and the kernel's own indices left out). */
function tcState(node: Netns, veth: BareVeth) {
  const filters = ingressFilters(node, veth.host).map((f) => {
    const o = f.options as { actions?: Array<Record<string, unknown>> } | undefined;
    return { ...f, options: o && { ...o, actions: o.actions?.map(({ stats: _s, ...a }) => a) } };
  });
  return {
    qdiscs: qdiscs(node).map(({ refcnt: _r, ...q }) => q),
    filters,
    ifbs: ifbs(node).map(({ address: _a, ...l }) => l),
  };
}

describe('bandwidth on a veth', () => {
  it('ADD makes the kernel state the reference makes, and reports the IFB', async () => {
    const states = [];
    for (const bin of [OUR_BIN, REF_BIN]) {
      const { node, pod } = nodeAndPod();
      const veth = bareVeth(node, pod);
      const add = await bw('ADD', { node, pod, veth, bin });
      expect(add.code, add.stdout).toBe(0);
      const [ifb] = ifbs(node);
      expect(ifb?.ifname).toBe(IFB);
      // prevResult's interfaces, then the IFB with its MAC
      expect((add.json as { interfaces: unknown[] }).interfaces).toEqual([...veth.prevResult.interfaces, { name: IFB, mac: ifb!.address }]);
      states.push(tcState(node, veth));
    }
    const [ours, ref] = states;
    expect(ours).toEqual(ref);
    // what both have: tbf 1: on the veth and on the IFB (rate in bytes/s, burst in bytes, latency
    // 25 ms), ingress ffff: with a match-all u32 filter redirecting to the IFB; the IFB has the
    // veth's MTU and txqueuelen 0
    expect(ours!.qdiscs).toMatchObject([
      { kind: 'tbf', handle: '1:', dev: 'bwveth0', root: true, options: { rate: 1_000_000, burst: 100_000, lat: 25_000 } },
      { kind: 'ingress', handle: 'ffff:', dev: 'bwveth0', parent: 'ffff:fff1' },
      { kind: 'tbf', handle: '1:', dev: IFB, root: true, options: { rate: 500_000, burst: 100_000, lat: 25_000 } },
    ]);
    const u32 = ours!.filters.find((f) => (f.options as { fh?: string } | undefined)?.fh === '800::800');
    expect(u32).toMatchObject({ protocol: 'all', pref: 1, kind: 'u32', options: { flowid: '1:1', match: { value: '0', mask: '0' } } });
    expect((u32!.options as { actions: unknown[] }).actions[0]).toMatchObject({
      kind: 'mirred',
      mirred_action: 'redirect',
      direction: 'egress',
      to_dev: IFB,
      control_action: { type: 'stolen' },
    });
    expect(ours!.ifbs).toMatchObject([{ ifname: IFB, mtu: 1500 }]);
    // ip prints no qlen for a queue length of 0
    expect(ours!.ifbs[0]!.txqlen ?? 0).toBe(0);
  });

  it("prints the reference's result for every version: the same bytes (0.3.x, 0.4.0), the same JSON (1.x)", async () => {
    for (const cniVersion of ['0.3.0', '0.3.1', '0.4.0', '1.0.0']) {
      const out: string[] = [];
      for (const bin of [OUR_BIN, REF_BIN]) {
        const { node, pod } = nodeAndPod();
        const veth = bareVeth(node, pod);
        const v040 = !cniVersion.startsWith('1.');
        const prevResult = {
          ...veth.prevResult,
          cniVersion,
          ips: [{ ...(v040 ? { version: '4' } : {}), interface: 1, address: `${veth.podIp}/24`, gateway: veth.hostIp }],
          routes: [{ dst: '0.0.0.0/0' }],
          dns: { nameservers: [veth.hostIp] },
        };
        const conf = { cniVersion, name: 'bwnet', type: 'bandwidth', ...LIMITS, prevResult };
        const add = await cni('ADD', { node, pod, id: 'ctr-bw', conf, binDir: bin });
        expect(add.code, `${cniVersion} ${add.stdout}`).toBe(0);
        out.push(add.stdout.replace(/"([0-9a-f]{2}:){5}[0-9a-f]{2}"/g, '"MAC"').replaceAll(pod.path, 'NETNS'));
      }
      // 1.x results go through a map in newer libcni (keys sorted); Debian's v1.1.1 prints struct order
      if (cniVersion.startsWith('1.')) expect(JSON.parse(out[0]!), cniVersion).toEqual(JSON.parse(out[1]!));
      else expect(out[0], cniVersion).toBe(out[1]);
    }
  });

  it('DEL removes the IFB, whichever implementation made it; again and without prevResult it succeeds', async () => {
    for (const [adder, deleter] of [
      [REF_BIN, OUR_BIN],
      [OUR_BIN, REF_BIN],
    ]) {
      const { node, pod } = nodeAndPod();
      const veth = bareVeth(node, pod);
      expect((await bw('ADD', { node, pod, veth, bin: adder })).code).toBe(0);
      expect(ifbs(node)).toHaveLength(1);
      expect(await bw('DEL', { node, pod, veth, bin: deleter })).toMatchObject({ code: 0, stdout: '' });
      expect(ifbs(node)).toEqual([]);
      expect(await bw('DEL', { node, pod })).toMatchObject({ code: 0, stdout: '' });
    }
  });

  it("DEL removes the IFB when the pod's namespace is already gone", async () => {
    const { node, pod } = nodeAndPod();
    const veth = bareVeth(node, pod);
    expect((await bw('ADD', { node, pod, veth })).code).toBe(0);
    removeNetns(pod.name);
    expect(await bw('DEL', { node, pod, veth })).toMatchObject({ code: 0, stdout: '' });
    expect(ifbs(node)).toEqual([]);
  });

  it('CHECK passes after either ADD, and fails when a tbf differs or the IFB is gone', async () => {
    const first = nodeAndPod();
    const refVeth = bareVeth(first.node, first.pod);
    expect((await bw('ADD', { ...first, veth: refVeth, bin: REF_BIN })).code).toBe(0);
    expect(await bw('CHECK', { ...first, veth: refVeth })).toEqual(expect.objectContaining({ code: 0, stdout: '' }));

    const { node, pod } = nodeAndPod();
    const veth = bareVeth(node, pod);
    expect((await bw('ADD', { node, pod, veth })).code).toBe(0);
    expect((await bw('CHECK', { node, pod, veth, bin: REF_BIN })).code).toBe(0);
    expect((await bw('CHECK', { node, pod, veth })).code).toBe(0);

    // another config than the one applied
    const other = await bw('CHECK', { node, pod, veth, fields: { ...LIMITS, egressBurst: 1_600_000 } });
    expect(other.code).toBe(1);
    expect((other.json as ErrJson).msg).toBe(`egress: Limit doesn't match on ${IFB} (112500 != 212500)`);

    // the kernel changed under it
    ip(
      'netns',
      'exec',
      node.name,
      'tc',
      'qdisc',
      'change',
      'dev',
      veth.host,
      'root',
      'tbf',
      'rate',
      '9mbit',
      'burst',
      '100000',
      'latency',
      '25ms',
    );
    const changed = await bw('CHECK', { node, pod, veth });
    expect((changed.json as ErrJson).msg).toBe("ingress: Rate doesn't match on bwveth0 (1125000 != 1000000)");
    ip('netns', 'exec', node.name, 'tc', 'qdisc', 'del', 'dev', veth.host, 'root');
    expect(((await bw('CHECK', { node, pod, veth })).json as ErrJson).msg).toMatch(/^ingress: root qdisc of bwveth0 is \w+, not tbf$/);
    ip('-n', node.name, 'link', 'del', IFB);
    const gone = await bw('CHECK', { node, pod, veth, fields: { egressRate: 4_000_000, egressBurst: 800_000 } });
    expect((gone.json as ErrJson).msg).toBe('egress: get ifb device: Link not found');
  });

  it('a transfer runs at the configured rate (±20%) in each direction', async () => {
    const { node, pod } = nodeAndPod();
    const veth = bareVeth(node, pod);
    expect((await bw('ADD', { node, pod, veth })).code).toBe(0);
    // toward the pod: 1 MB/s through the veth's tbf; from the pod: 500 kB/s through the IFB's
    const toPod = await transferRate({ from: node, to: pod, address: veth.podIp, bytes: 2_500_000, skip: 300_000 });
    expect(toPod).toBeGreaterThan(0.8 * 1_000_000);
    expect(toPod).toBeLessThan(1.2 * 1_000_000);
    const fromPod = await transferRate({ from: pod, to: node, address: veth.hostIp, bytes: 1_250_000, skip: 200_000 });
    expect(fromPod).toBeGreaterThan(0.8 * 500_000);
    expect(fromPod).toBeLessThan(1.2 * 500_000);
  });

  it('all limits zero: prevResult goes through and nothing is made', async () => {
    const { node, pod } = nodeAndPod();
    const veth = bareVeth(node, pod);
    const zero = { ingressRate: 0, ingressBurst: 0, egressRate: 0, egressBurst: 0 };
    const add = await bw('ADD', { node, pod, veth, fields: { ...zero, runtimeConfig: { bandwidth: LIMITS } } });
    expect(add.code, add.stdout).toBe(0);
    expect((add.json as { interfaces: unknown[] }).interfaces).toEqual(veth.prevResult.interfaces);
    expect(shapingOf(node)).toEqual(NONE);
  });

  it('the bandwidth capability is used when there are no top-level limits', async () => {
    const { node, pod } = nodeAndPod();
    const veth = bareVeth(node, pod);
    const add = await bw('ADD', {
      node,
      pod,
      veth,
      fields: { runtimeConfig: { bandwidth: { ingressRate: 16_000_000, ingressBurst: 80_000 } } },
    });
    expect(add.code, add.stdout).toBe(0);
    expect(qdiscs(node)).toMatchObject([{ kind: 'tbf', dev: 'bwveth0', options: { rate: 2_000_000, burst: 10_000 } }]);
    expect(ifbs(node)).toEqual([]);
  });
});

describe('bandwidth: bad input leaves nothing', () => {
  const cases: Array<[string, Record<string, unknown>, RegExp, string?]> = [
    [
      'burst without rate',
      { ingressBurst: 800_000 },
      /^ingressRate: if burst is set, rate must also be set$/,
      'if burst is set, rate must also be set',
    ],
    [
      'rate without burst',
      { egressRate: 1_000_000 },
      /^egressBurst: if rate is set, burst must also be set$/,
      'if rate is set, burst must also be set',
    ],
    ['a negative rate', { ingressRate: -8, ingressBurst: 800 }, /^ingressRate: .*>=0/],
    ['a fractional burst', { egressRate: 8000, egressBurst: 1.5 }, /^egressBurst: /],
    [
      'a burst over 4 GB',
      { egressRate: 8000, egressBurst: 8 * (2 ** 32 - 1) },
      /^egressBurst: burst cannot be more than 4GB$/,
      'burst cannot be more than 4GB',
    ],
    [
      'the capability with burst without rate',
      { runtimeConfig: { bandwidth: { egressBurst: 800 } } },
      /^runtimeConfig\.bandwidth\.egressRate: if burst is set, rate must also be set$/,
      'if burst is set, rate must also be set',
    ],
  ];
  for (const [label, fields, msg, refMsg] of cases) {
    it(`${label} → code 7 naming the field`, async () => {
      const { node, pod } = nodeAndPod();
      const veth = bareVeth(node, pod);
      for (const command of ['ADD', 'DEL', 'CHECK']) {
        const res = await bw(command, { node, pod, veth, fields });
        expect(res.code, command).toBe(1);
        expect(res.json as ErrJson, command).toMatchObject({ code: 7, msg: expect.stringMatching(msg) });
      }
      // the reference refuses it too, with the same words
      const ref = await bw('ADD', { node, pod, veth, fields, bin: REF_BIN });
      expect(ref.code).toBe(1);
      if (refMsg) expect((ref.json as ErrJson).msg).toBe(refMsg);
      expect(shapingOf(node)).toEqual(NONE);
    });
  }

  it('an interface that is not a veth, or no prevResult → an error, nothing made', async () => {
    const { node, pod } = nodeAndPod();
    const veth = bareVeth(node, pod);
    ip('-n', pod.name, 'link', 'add', 'br0', 'type', 'bridge');
    const notVeth = await bw('ADD', { node, pod, veth, ifname: 'br0' });
    expect(notVeth.json as ErrJson).toMatchObject({ code: 999, msg: 'container interface br0 has no veth peer' });
    // the peer exists but prevResult does not list it as a host interface
    const unlisted = { ...veth, prevResult: { ...veth.prevResult, interfaces: veth.prevResult.interfaces.slice(1) } };
    const notListed = await bw('ADD', { node, pod, veth: unlisted });
    expect((notListed.json as ErrJson).msg).toBe('no veth peer of container interface found in host ns');
    const noPrev = await bw('ADD', { node, pod });
    expect(noPrev.json as ErrJson).toMatchObject({ code: 999, msg: 'must be called as chained plugin' });
    expect(shapingOf(node)).toEqual(NONE);
  });

  it('an ADD that fails half-way removes what it made, and only that', async () => {
    const { node, pod } = nodeAndPod();
    const veth = bareVeth(node, pod);
    // someone else's link has the IFB's name: the ingress tbf is made, then creating the IFB fails
    ip('-n', node.name, 'link', 'add', IFB, 'type', 'bridge');
    const add = await bw('ADD', { node, pod, veth });
    expect(add.json as ErrJson).toMatchObject({ code: 999, msg: expect.stringMatching(/^adding link: File exists/) });
    expect(qdiscs(node)).toEqual([]);
    expect(ip('-n', node.name, 'link', 'show', IFB)).toContain(IFB);
  });
});
