// bridge + host-local + loopback through the built binaries, exec'd in a node namespace like a runtime does.
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { inNs, ip, ipJson, makeNetns, removeNetns, type Netns } from '../helpers/netns.js';
import { addrs, bridgeConf, bridgePorts, cidrsOf, cni, nodeAndPod, tempDir } from '../helpers/fixtures.js';
import { hasMasqElement, masqElements, ourObjects } from '../helpers/nft.js';
import { OUR_BIN, REF_BIN } from '../helpers/run-plugin.js';

const VERSIONS = ['0.1.0', '0.2.0', '0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'];

function reservations(dataDir: string, net = 'testnet'): string[] {
  const dir = join(dataDir, net);
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((f) => /^[0-9a-f.:]+$/i.test(f) && (f.includes('.') || f.includes(':')) && !f.startsWith('last_'));
}

describe('bridge ADD → CHECK → DEL', () => {
  for (const version of VERSIONS) {
    it(`works with cniVersion ${version}`, async () => {
      const { node, pod } = nodeAndPod();
      const dataDir = tempDir('ipam');
      const conf = bridgeConf({ cniVersion: version, dataDir });
      const machineForwarding = readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8');
      const add = await cni('ADD', { node, pod, id: 'ctr-1', conf });
      expect(add.stderr).toBe('');
      expect(add.code).toBe(0);
      const result = add.json as Record<string, any>;
      expect(result.cniVersion).toBe(version);

      // kernel state, read with ip(8)
      const [podAddr] = cidrsOf(pod, 'eth0');
      expect(podAddr).toMatch(/^10\.99\.0\.\d+\/24$/);
      expect(cidrsOf(node, 'fcnibr0')).toEqual(['10.99.0.1/24']);
      const ports = bridgePorts(node, 'fcnibr0');
      expect(ports).toHaveLength(1);
      const podLink = addrs(pod).find((l) => l.ifname === 'eth0')!;
      expect(podLink.linkinfo?.info_kind).toBe('veth');
      expect(podLink.operstate).toBe('UP');
      const routes = ipJson<Array<{ dst: string; gateway?: string }>>('-n', pod.name, 'route');
      expect(routes).toContainEqual(expect.objectContaining({ dst: 'default', gateway: '10.99.0.1' }));
      // forwarding is switched on in the node namespace only, never in the machine's own
      expect(inNs(node.name, 'cat', '/proc/sys/net/ipv4/ip_forward').trim()).toBe('1');
      expect(readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8')).toBe(machineForwarding);
      expect(hasMasqElement(node, podAddr!.split('/')[0]!)).toBe(true);
      expect(reservations(dataDir)).toEqual([podAddr!.split('/')[0]]);

      // the result in the requested version
      if (version === '0.1.0' || version === '0.2.0') {
        expect(result.ip4).toEqual({ ip: podAddr, gateway: '10.99.0.1', routes: [{ dst: '0.0.0.0/0' }] });
        expect(result.interfaces).toBeUndefined();
      } else {
        expect(result.interfaces).toEqual([
          { name: 'fcnibr0', mac: expect.stringMatching(/^[0-9a-f:]{17}$/) },
          { name: ports[0], mac: expect.stringMatching(/^[0-9a-f:]{17}$/) },
          { name: 'eth0', mac: podLink.address, sandbox: pod.path },
        ]);
        const ipEntry: Record<string, unknown> = { address: podAddr, gateway: '10.99.0.1', interface: 2 };
        if (version.startsWith('0.')) ipEntry.version = '4';
        expect(result.ips).toEqual([ipEntry]);
        expect(result.routes).toEqual([{ dst: '0.0.0.0/0' }]);
      }

      if (!['0.1.0', '0.2.0', '0.3.0', '0.3.1'].includes(version)) {
        const check = await cni('CHECK', { node, pod, id: 'ctr-1', conf: { ...conf, prevResult: result } });
        expect(check.stdout).toBe('');
        expect(check.code).toBe(0);
      }

      const del = await cni('DEL', { node, pod, id: 'ctr-1', conf: { ...conf, prevResult: version >= '0.4.0' ? result : undefined } });
      expect(del.code).toBe(0);
      expect(addrs(pod).find((l) => l.ifname === 'eth0')).toBeUndefined();
      expect(bridgePorts(node, 'fcnibr0')).toEqual([]);
      expect(masqElements(node)).toEqual([]);
      expect(reservations(dataDir)).toEqual([]);
    });
  }
});

describe('bridge CHECK notices drift', () => {
  it('fails when the container address was removed', async () => {
    const { node, pod } = nodeAndPod();
    const conf = bridgeConf({ dataDir: tempDir('ipam') });
    const add = await cni('ADD', { node, pod, id: 'ctr-drift', conf });
    expect(add.code).toBe(0);
    const [cidr] = cidrsOf(pod, 'eth0');
    ip('-n', pod.name, 'addr', 'del', cidr!, 'dev', 'eth0');
    const check = await cni('CHECK', { node, pod, id: 'ctr-drift', conf: { ...conf, prevResult: add.json } });
    expect(check.code).not.toBe(0);
    expect((check.json as { msg: string }).msg).toContain(cidr!);
    expect((await cni('DEL', { node, pod, id: 'ctr-drift', conf })).code).toBe(0);
  });
});

function tcpPeerSeen(server: string, client: string, addr: string): Promise<string> {
  const serverJs = `const s=require('net').createServer(c=>{console.log(c.remoteAddress);c.end(()=>process.exit(0));}).listen(8080,'${addr}',()=>console.log('ready'));setTimeout(()=>process.exit(2),8000)`;
  return new Promise((resolve, reject) => {
    const srv = spawn('ip', ['netns', 'exec', server, process.execPath, '-e', serverJs]);
    let out = '';
    srv.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.startsWith('ready\n') && out.length === 6) {
        const clientJs = `require('net').connect(8080,'${addr}',function(){this.end()}).on('error',e=>{console.error(e.message);process.exit(1)})`;
        execFileSync('ip', ['netns', 'exec', client, process.execPath, '-e', clientJs]);
      }
    });
    srv.on('close', (code) => (code === 0 ? resolve(out.split('\n')[1] ?? '') : reject(new Error(`server exited ${code}: ${out}`))));
  });
}

describe('bridge data path', () => {
  it('two pods reach each other and the gateway; masquerade hides them from the outside', async () => {
    const node = makeNetns('node');
    const outside = makeNetns('out');
    const pods = [makeNetns('pod'), makeNetns('pod')];
    ip('-n', node.name, 'link', 'add', 'uplink', 'type', 'veth', 'peer', 'name', 'wan', 'netns', outside.name);
    ip('-n', node.name, 'addr', 'add', '192.0.2.1/24', 'dev', 'uplink');
    ip('-n', node.name, 'link', 'set', 'uplink', 'up');
    ip('-n', outside.name, 'addr', 'add', '192.0.2.2/24', 'dev', 'wan');
    ip('-n', outside.name, 'link', 'set', 'wan', 'up');
    const conf = bridgeConf({ dataDir: tempDir('ipam') });
    const podIps: string[] = [];
    for (const [i, pod] of pods.entries()) {
      const add = await cni('ADD', { node, pod, id: `ctr-${i}`, conf });
      expect(add.code, add.stdout).toBe(0);
      podIps.push(cidrsOf(pod, 'eth0')[0]!.split('/')[0]!);
    }
    inNs(pods[0]!.name, 'ping', '-c', '1', '-W', '2', podIps[1]!);
    inNs(pods[1]!.name, 'ping', '-c', '1', '-W', '2', podIps[0]!);
    inNs(pods[0]!.name, 'ping', '-c', '1', '-W', '2', '10.99.0.1');
    expect(await tcpPeerSeen(outside.name, pods[1]!.name, '192.0.2.2')).toBe('192.0.2.1');
    for (const [i, pod] of pods.entries()) expect((await cni('DEL', { node, pod, id: `ctr-${i}`, conf })).code).toBe(0);
  });

  it('dual-stack pod gets one address per family and IPv6 routes', async () => {
    const { node, pod } = nodeAndPod();
    const dataDir = tempDir('ipam');
    const conf = bridgeConf({
      dataDir,
      ranges: [[{ subnet: '10.99.0.0/24' }], [{ subnet: 'fd00:99::/64' }]],
      ipamExtra: { routes: [{ dst: '0.0.0.0/0' }, { dst: '::/0' }] },
    });
    const add = await cni('ADD', { node, pod, id: 'ctr-ds', conf });
    expect(add.code, add.stdout).toBe(0);
    const cidrs = cidrsOf(pod, 'eth0');
    expect(cidrs).toHaveLength(2);
    expect(cidrs.some((c) => c.startsWith('fd00:99::') && c.endsWith('/64'))).toBe(true);
    expect(cidrsOf(node, 'fcnibr0').sort()).toEqual(['10.99.0.1/24', 'fd00:99::1/64']);
    const v6routes = ipJson<Array<{ dst: string; gateway?: string }>>('-6', '-n', pod.name, 'route');
    expect(v6routes).toContainEqual(expect.objectContaining({ dst: 'default', gateway: 'fd00:99::1' }));
    const v6 = cidrs.find((c) => c.includes(':'))!.split('/')[0]!;
    inNs(pod.name, 'ping', '-6', '-c', '1', '-W', '3', 'fd00:99::1');
    expect(hasMasqElement(node, v6)).toBe(true);
    expect((await cni('DEL', { node, pod, id: 'ctr-ds', conf })).code).toBe(0);
    expect(reservations(dataDir)).toEqual([]);
    expect(masqElements(node)).toEqual([]);
  });
});

describe('bridge DEL', () => {
  it('is idempotent', async () => {
    const { node, pod } = nodeAndPod();
    const dataDir = tempDir('ipam');
    const conf = bridgeConf({ dataDir });
    expect((await cni('ADD', { node, pod, id: 'ctr-twice', conf })).code).toBe(0);
    expect((await cni('DEL', { node, pod, id: 'ctr-twice', conf })).code).toBe(0);
    const again = await cni('DEL', { node, pod, id: 'ctr-twice', conf });
    expect(again.stdout).toBe('');
    expect(again.code).toBe(0);
  });

  it('cleans masquerade and IPAM when the pod namespace is already gone', async () => {
    const { node, pod } = nodeAndPod();
    const dataDir = tempDir('ipam');
    const conf = bridgeConf({ dataDir });
    const add = await cni('ADD', { node, pod, id: 'ctr-gone', conf });
    expect(add.code).toBe(0);
    const addr = cidrsOf(pod, 'eth0')[0]!.split('/')[0]!;
    expect(hasMasqElement(node, addr)).toBe(true);
    removeNetns(pod.name);
    // no prevResult: the runtime may have lost its cache too
    const del = await cni('DEL', { node, pod, id: 'ctr-gone', conf });
    expect(del.code, del.stdout).toBe(0);
    expect(hasMasqElement(node, addr)).toBe(false);
    expect(reservations(dataDir)).toEqual([]);
    expect(bridgePorts(node, 'fcnibr0')).toEqual([]);
  });

  it('releases the address even when the link cannot be deleted, as the reference does', async () => {
    const { node, pod } = nodeAndPod();
    const dataDir = tempDir('ipam');
    const conf = bridgeConf({ dataDir });
    expect((await cni('ADD', { node, pod, id: 'ctr-odd', conf })).code).toBe(0);
    expect(reservations(dataDir)).toHaveLength(1);
    // CNI_NETNS names a file that is not a namespace: entering it fails
    const notNs = join(tempDir('notns'), 'netns');
    writeFileSync(notNs, '');
    const del = await cni('DEL', { node, netnsPath: notNs, id: 'ctr-odd', conf });
    expect(del.code).not.toBe(0);
    expect(reservations(dataDir)).toEqual([]);
    expect(bridgePorts(node, 'fcnibr0')).toHaveLength(1); // the pod's link is still there
    expect((await cni('DEL', { node, pod, id: 'ctr-odd', conf })).code).toBe(0);
    expect(bridgePorts(node, 'fcnibr0')).toEqual([]);
  });
});

describe('bridge ADD that fails part-way leaves nothing behind', () => {
  async function expectClean(node: ReturnType<typeof makeNetns>, pod: ReturnType<typeof makeNetns>, dataDir: string, before: string[]) {
    expect(bridgePorts(node, 'fcnibr0')).toEqual([]);
    expect(masqElements(node)).toEqual([]);
    expect(reservations(dataDir).sort()).toEqual(before.sort());
    expect(addrs(pod).filter((l) => l.ifname !== 'lo' && l.ifname !== 'eth0')).toEqual([]);
  }

  it('when the requested address is taken', async () => {
    const { node, pod } = nodeAndPod();
    const other = makeNetns('pod');
    const dataDir = tempDir('ipam');
    const conf = bridgeConf({ dataDir });
    expect((await cni('ADD', { node, pod: other, id: 'first', conf, args: 'IP=10.99.0.7' })).code).toBe(0);
    const res = await cni('ADD', { node, pod, id: 'second', conf, args: 'IP=10.99.0.7' });
    expect(res.code).not.toBe(0);
    expect((res.json as { msg: string }).msg).toContain('10.99.0.7');
    expect(bridgePorts(node, 'fcnibr0')).toHaveLength(1);
    expect(reservations(dataDir)).toEqual(['10.99.0.7']);
    expect(addrs(pod).find((l) => l.ifname === 'eth0')).toBeUndefined();
    expect((await cni('DEL', { node, pod: other, id: 'first', conf })).code).toBe(0);
  });

  it('when the interface name is already in use in the pod', async () => {
    const { node, pod } = nodeAndPod();
    const dataDir = tempDir('ipam');
    ip('-n', pod.name, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'squatter');
    const conf = bridgeConf({ dataDir });
    const res = await cni('ADD', { node, pod, id: 'ctr-busy', conf });
    expect(res.code).not.toBe(0);
    expect((res.json as { msg: string }).msg).toContain('eth0');
    expect(bridgePorts(node, 'fcnibr0')).toEqual([]);
    expect(masqElements(node).filter((e) => e.includes('10.99'))).toEqual([]);
    expect(reservations(dataDir)).toEqual([]);
  });

  it('when IPAM is exhausted', async () => {
    const { node, pod } = nodeAndPod();
    const first = makeNetns('pod');
    const dataDir = tempDir('ipam');
    const conf = bridgeConf({ dataDir, subnet: '10.99.0.0/30' }); // .1 gateway, .2 the only host
    expect((await cni('ADD', { node, pod: first, id: 'only', conf })).code).toBe(0);
    const before = reservations(dataDir);
    const res = await cni('ADD', { node, pod, id: 'ctr-full', conf });
    expect(res.code).not.toBe(0);
    expect((res.json as { msg: string }).msg).toContain('no IP addresses available');
    expect(addrs(pod).find((l) => l.ifname === 'eth0')).toBeUndefined();
    expect(bridgePorts(node, 'fcnibr0')).toHaveLength(1);
    expect(reservations(dataDir)).toEqual(before);
    expect((await cni('DEL', { node, pod: first, id: 'only', conf })).code).toBe(0);
    await expectClean(node, pod, dataDir, []);
  });

  it('when masquerade cannot be set up (the last step of the native ADD)', async () => {
    const { node, pod } = nodeAndPod();
    const dataDir = tempDir('ipam');
    // A set of ours for this (network, subnet) whose type cannot hold the pod's IPv4 address.
    const set = `masq-${createHash('sha256').update('testnet\n10.99.0.0/24').digest('hex').slice(0, 16)}`;
    inNs(node.name, 'nft', 'add table inet fastcni');
    inNs(node.name, 'nft', `add set inet fastcni ${set} { type ipv6_addr; }`);
    const res = await cni('ADD', { node, pod, id: 'ctr-masq', conf: bridgeConf({ dataDir }) });
    expect(res.code).not.toBe(0);
    expect((res.json as { msg: string }).msg).toMatch(/masq/);
    expect(addrs(pod).find((l) => l.ifname === 'eth0')).toBeUndefined();
    expect(bridgePorts(node, 'fcnibr0')).toEqual([]);
    expect(reservations(dataDir)).toEqual([]);
    expect(masqElements(node)).toEqual([]);
    // the gateway this ADD put on the bridge went with it
    expect(cidrsOf(node, 'fcnibr0')).toEqual([]);
  });

  it('when the spoof check cannot be installed (after masquerade, in the same native ADD)', async () => {
    const { node, pod } = nodeAndPod();
    const dataDir = tempDir('ipam');
    // The network's spoof-check sets exist, of a type that cannot hold a port name: the kernel
    // refuses the pod's elements, as one without nf_tables' bridge family would refuse the table.
    const hash = createHash('sha256').update('testnet').digest('hex').slice(0, 16);
    inNs(node.name, 'nft', 'add table bridge fastcni');
    for (const set of [`spoof-if-${hash}`, `spoof-mac-${hash}`])
      inNs(node.name, 'nft', `add set bridge fastcni ${set} { type ether_addr; }`);
    const res = await cni('ADD', { node, pod, id: 'ctr-spoof', conf: bridgeConf({ dataDir, extra: { macspoofchk: true } }) });
    expect(res.code).not.toBe(0);
    expect((res.json as { msg: string }).msg).toMatch(/spoof check/);
    expect(addrs(pod).find((l) => l.ifname === 'eth0')).toBeUndefined();
    expect(bridgePorts(node, 'fcnibr0')).toEqual([]);
    expect(reservations(dataDir)).toEqual([]);
    // the gateway it put on the bridge is gone
    expect(cidrsOf(node, 'fcnibr0')).toEqual([]);
    // and so is the masquerade it had added, its set (this network's first) with it
    expect(masqElements(node)).toEqual([]);
    expect(ourObjects(node).sets.filter((s) => s.startsWith('inet'))).toEqual([]);
  });

  // A route the kernel refuses (its gateway is on no subnet of the pod) fails the pod's batch,
  // after the gateway went onto the bridge.
  const unreachableRoute = { routes: [{ dst: '0.0.0.0/0' }, { dst: '10.200.0.0/16', gw: '10.50.0.1' }] };

  /** Node and pod namespaces, the node with a bridge fcnibr0 that has these addresses already. */
  function withBridge(addresses: string[]) {
    const { node, pod } = nodeAndPod();
    ip('-n', node.name, 'link', 'add', 'fcnibr0', 'type', 'bridge');
    for (const a of addresses) ip('-n', node.name, 'addr', 'add', a, 'dev', 'fcnibr0', 'nodad');
    return { node, pod, dataDir: tempDir('ipam') };
  }

  /** Nothing of a failed ADD is left but the bridge; returns the bridge's global addresses. */
  function bridgeAfterFailure(o: { node: Netns; pod: Netns; dataDir: string; ports?: string[] }): string[] {
    expect(addrs(o.pod).find((l) => l.ifname === 'eth0')).toBeUndefined();
    expect(bridgePorts(o.node, 'fcnibr0')).toEqual(o.ports ?? []);
    expect(reservations(o.dataDir)).toEqual([]);
    expect(masqElements(o.node)).toEqual([]);
    return cidrsOf(o.node, 'fcnibr0').sort();
  }

  async function failingAdd(o: { before: string[]; force?: boolean; foreignPort?: boolean }) {
    const { node, pod, dataDir } = withBridge(o.before);
    if (o.foreignPort) {
      ip('-n', node.name, 'link', 'add', 'fcni-port', 'type', 'veth', 'peer', 'name', 'fcni-peer');
      ip('-n', node.name, 'link', 'set', 'fcni-port', 'master', 'fcnibr0');
    }
    const conf = bridgeConf({ dataDir, ipamExtra: unreachableRoute, extra: o.force ? { forceAddress: true } : {} });
    const res = await cni('ADD', { node, pod, id: 'ctr-route', conf });
    expect(res.code).not.toBe(0);
    expect((res.json as { msg: string }).msg).toContain('10.200.0.0/16');
    return bridgeAfterFailure({ node, pod, dataDir, ports: o.foreignPort ? ['fcni-port'] : [] });
  }

  it('when the kernel refuses a route: the gateway put on the bridge goes again, its other addresses stay', async () => {
    expect(await failingAdd({ before: ['fd99::1/64'] })).toEqual(['fd99::1/64']);
  });

  it('when the kernel refuses a route: a gateway address the bridge had before stays', async () => {
    expect(await failingAdd({ before: ['10.99.0.1/24'] })).toEqual(['10.99.0.1/24']);
  });

  it('when the kernel refuses a route: forceAddress puts back the address it replaced', async () => {
    expect(await failingAdd({ before: ['10.98.0.1/24'], force: true })).toEqual(['10.98.0.1/24']);
  });

  it('when the kernel refuses a route with another port on the bridge: the gateway stays, another ADD may use it', async () => {
    expect(await failingAdd({ before: [], foreignPort: true })).toEqual(['10.99.0.1/24']);
  });

  // Our host-local refuses the range; the reference accepts it and hands the gateway out, which our
  // bridge then refuses. Either way before anything changes on the bridge.
  for (const [ipam, path, field] of [
    ['our host-local', OUR_BIN, 'ipam.ranges[0][0].gateway'],
    ['the reference host-local', `${REF_BIN}:${OUR_BIN}`, 'IPAM result ips[0].gateway'],
  ] as const) {
    it(`when the range's gateway is of the other family (${ipam}): 7 naming ${field}, the bridge unchanged`, async () => {
      const { node, pod, dataDir } = withBridge(['fd99::1/64']);
      const conf = bridgeConf({ dataDir, ranges: [[{ subnet: '10.99.0.0/24', gateway: 'fd00::1' }]] });
      const res = await cni('ADD', { node, pod, id: 'ctr-family', conf, path });
      expect(res.code).not.toBe(0);
      const err = res.json as { code: number; msg: string };
      expect(err.code).toBe(7);
      expect(err.msg.startsWith(`${field}: `), err.msg).toBe(true);
      expect(err.msg).toContain('fd00::1');
      expect(bridgeAfterFailure({ node, pod, dataDir })).toEqual(['fd99::1/64']);
    });
  }
});

describe('bridge under load', () => {
  it('50 parallel ADDs get 50 distinct addresses and 50 DELs free them all', async () => {
    const node = makeNetns('node');
    const dataDir = tempDir('ipam');
    const conf = bridgeConf({ dataDir, subnet: '10.99.0.0/24' });
    const pods = Array.from({ length: 50 }, () => makeNetns('pod'));
    const adds = await Promise.all(pods.map((pod, i) => cni('ADD', { node, pod, id: `par-${i}`, conf })));
    for (const a of adds) expect(a.code, a.stdout).toBe(0);
    const got = pods.map((pod) => cidrsOf(pod, 'eth0')[0]);
    expect(new Set(got).size).toBe(50);
    expect(reservations(dataDir)).toHaveLength(50);
    expect(bridgePorts(node, 'fcnibr0')).toHaveLength(50);
    expect(masqElements(node)).toHaveLength(50);
    const dels = await Promise.all(pods.map((pod, i) => cni('DEL', { node, pod, id: `par-${i}`, conf })));
    for (const d of dels) expect(d.code, d.stdout).toBe(0);
    expect(reservations(dataDir)).toEqual([]);
    expect(bridgePorts(node, 'fcnibr0')).toEqual([]);
    expect(masqElements(node)).toEqual([]);
  }, 180_000);
});

/** Whether this kernel can make a VLAN-filtering bridge (the dev VMs cannot). */
function kernelHasVlanFiltering(): boolean {
  const probe = makeNetns('probe');
  try {
    ip('-n', probe.name, 'link', 'add', 'vfprobe', 'type', 'bridge', 'vlan_filtering', '1');
    return true;
  } catch {
    return false;
  } finally {
    removeNetns(probe.name);
  }
}

describe('bridge VLANs', () => {
  it('puts the host port in the access VLAN (needs bridge vlan filtering)', async (t) => {
    if (!kernelHasVlanFiltering()) t.skip('this kernel has no bridge VLAN filtering');
    const { node, pod } = nodeAndPod();
    const conf = bridgeConf({ dataDir: tempDir('ipam'), extra: { vlan: 100 } });
    const add = await cni('ADD', { node, pod, id: 'ctr-vlan', conf });
    expect(add.code, add.stdout).toBe(0);
    const port = bridgePorts(node, 'fcnibr0').find((p) => p.startsWith('veth'))!;
    const vlans = JSON.parse(execFileSync('bridge', ['-n', node.name, '-j', 'vlan', 'show', 'dev', port], { encoding: 'utf8' })) as Array<{
      ifname: string;
      vlans: Array<{ vlan: number; flags?: string[] }>;
    }>;
    expect(vlans[0]!.vlans).toContainEqual({ vlan: 100, flags: ['PVID', 'Egress Untagged'] });
    expect((await cni('DEL', { node, pod, id: 'ctr-vlan', conf })).code).toBe(0);
  });
});
