// The ptp plugin through the built binary, exec'd in a node namespace like a runtime does: ADD, CHECK
// and DEL read with ip(8) and nft(8), real traffic (pod ↔ node, pod ↔ pod through the node, a pod
// masqueraded to an outside namespace), DEL of what is already gone, GC, and bad input leaving
// nothing behind.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { reservations, type Sandbox } from '../helpers/cli.js';
import { addrs, cidrsOf, cni, nodeAndPod, tempDir } from '../helpers/fixtures.js';
import { hasMasqElement, masqElements } from '../helpers/nft.js';
import { inNs, ip, ipJson, makeNetns, removeNetns, type Netns } from '../helpers/netns.js';
import { hostEnds, outsideOf, ptpConf } from '../helpers/ptp.js';
import { OUR_BIN } from '../helpers/run-plugin.js';
import { udpProbe } from '../helpers/sbr.js';

const DUAL = [[{ subnet: '10.98.0.0/24' }], [{ subnet: 'fd98::/64' }]];

/** host-local's reservations of the network in `dataDir`. */
const reserved = (dataDir: string) => reservations({ dataDir } as Sandbox, 'ptpnet');

/** `ip -j route` of one family through one link, as `<dst>[ via <gw>] scope <scope>[ src <src>]`. */
function routesVia(ns: Netns, family: '-4' | '-6', dev: string): string[] {
  const routes = ipJson<Array<{ dst: string; gateway?: string; dev: string; scope?: string; prefsrc?: string }>>(
    '-n',
    ns.name,
    family,
    'route',
  );
  return routes
    .filter((r) => r.dev === dev)
    .map(
      (r) => `${r.dst}${r.gateway ? ` via ${r.gateway}` : ''}${r.scope ? ` scope ${r.scope}` : ''}${r.prefsrc ? ` src ${r.prefsrc}` : ''}`,
    );
}

const sysctl = (ns: Netns, key: string) => inNs(ns.name, 'cat', `/proc/sys/net/${key}`).trim();

/** Nothing of the attachment left: no link on either side, no reservation, no masquerade element. */
function expectNothingLeft(node: Netns, pod: Netns, dataDir: string) {
  expect(hostEnds(node)).toEqual([]);
  expect(addrs(pod).map((l) => l.ifname)).toEqual(['lo']);
  expect(reserved(dataDir)).toEqual([]);
  expect(masqElements(node)).toEqual([]);
}

describe('ptp ADD → CHECK → DEL', () => {
  it('dual-stack: the pod routed through its gateways, the gateways on the host end, forwarding, masquerade; DEL leaves nothing', async () => {
    const { node, pod } = nodeAndPod();
    const dataDir = tempDir('ipam');
    const conf = ptpConf({ dataDir, ranges: DUAL, extra: { mtu: 1400, dns: { nameservers: ['10.98.0.53'] } } });
    const add = await cni('ADD', { node, pod, id: 'ctr-1', conf });
    expect(add.stderr).toBe('');
    expect(add.code, add.stdout).toBe(0);

    const [host] = hostEnds(node);
    const podLink = addrs(pod).find((l) => l.ifname === 'eth0')!;
    const hostLink = addrs(node).find((l) => l.ifname === host)!;
    expect(add.json).toEqual({
      cniVersion: '1.0.0',
      interfaces: [
        { name: host, mac: hostLink.address },
        { name: 'eth0', mac: podLink.address, sandbox: pod.path },
      ],
      ips: [
        { address: '10.98.0.2/24', gateway: '10.98.0.1', interface: 1 },
        { address: 'fd98::2/64', gateway: 'fd98::1', interface: 1 },
      ],
      routes: [{ dst: '0.0.0.0/0' }],
      dns: { nameservers: ['10.98.0.53'] },
    });

    // the pod: its addresses, no connected route, everything through the gateway
    expect(podLink.linkinfo?.info_kind).toBe('veth');
    expect(podLink.operstate).toBe('UP');
    expect(cidrsOf(pod, 'eth0')).toEqual(['10.98.0.2/24', 'fd98::2/64']);
    expect(routesVia(pod, '-4', 'eth0')).toEqual([
      'default via 10.98.0.1',
      '10.98.0.0/24 via 10.98.0.1 src 10.98.0.2',
      '10.98.0.1 scope link src 10.98.0.2',
    ]);
    expect(routesVia(pod, '-6', 'eth0')).toEqual(['fd98::1 src fd98::2', 'fd98::/64 via fd98::1 src fd98::2', 'fe80::/64']);
    // the host end: the gateways alone, a host route to each pod address
    expect(cidrsOf(node, host!)).toEqual(['10.98.0.1/32', 'fd98::1/128']);
    expect(routesVia(node, '-4', host!)).toEqual(['10.98.0.2 scope host']);
    expect(routesVia(node, '-6', host!)).toEqual(['fd98::1', 'fd98::2', 'fe80::/64']);
    expect([podLink, hostLink].map((l) => (l as { mtu?: number }).mtu)).toEqual([1400, 1400]);
    expect([sysctl(node, 'ipv4/ip_forward'), sysctl(node, 'ipv6/conf/all/forwarding')]).toEqual(['1', '1']);
    expect(sysctl(node, `ipv6/conf/${host}/accept_ra`)).toBe('0');
    expect(hasMasqElement(node, '10.98.0.2')).toBe(true);
    expect(hasMasqElement(node, 'fd98::2')).toBe(true);
    expect(reserved(dataDir).sort()).toEqual(['10.98.0.2', 'fd98::2']);

    const check = await cni('CHECK', { node, pod, id: 'ctr-1', conf: { ...conf, prevResult: add.json } });
    expect(check, check.stdout).toMatchObject({ code: 0, stdout: '' });

    const del = await cni('DEL', { node, pod, id: 'ctr-1', conf });
    expect(del, del.stdout).toMatchObject({ code: 0, stdout: '' });
    expectNothingLeft(node, pod, dataDir);
    const again = await cni('DEL', { node, pod, id: 'ctr-1', conf });
    expect(again, again.stdout).toMatchObject({ code: 0, stdout: '' });
  });

  it('CHECK finds a missing address, a missing route to the subnet, a missing result route, another MAC', async () => {
    const { node, pod } = nodeAndPod();
    const conf = ptpConf({ dataDir: tempDir('ipam') });
    const add = await cni('ADD', { node, pod, id: 'ctr-chk', conf });
    expect(add.code, add.stdout).toBe(0);
    const prev = add.json as { interfaces: Array<{ mac: string }>; ips: unknown[] };
    const check = (prevResult: unknown) => cni('CHECK', { node, pod, id: 'ctr-chk', conf: { ...conf, prevResult } });
    const wrongMac = { ...prev, interfaces: [prev.interfaces[0], { ...prev.interfaces[1], mac: '02:00:00:00:00:01' }] };
    const cases: Array<[() => void, unknown, RegExp]> = [
      [() => {}, wrongMac, /Mac 02:00:00:00:00:01 doesn't match container Mac/],
      [() => ip('-n', pod.name, 'route', 'del', 'default'), prev, /Failed to match route: 0\.0\.0\.0\/0/],
      [() => ip('-n', pod.name, 'route', 'del', '10.98.0.0/24'), prev, /Route not found for gateway 10\.98\.0\.1/],
      [
        () => ip('-n', pod.name, 'addr', 'del', '10.98.0.2/24', 'dev', 'eth0'),
        prev,
        /Failed to match addr 10\.98\.0\.2\/24 on interface eth0/,
      ],
      [() => ip('-n', pod.name, 'link', 'del', 'eth0'), prev, /Container Interface name in prevResult: eth0 not found/],
    ];
    for (const [breakIt, prevResult, msg] of cases) {
      breakIt();
      const res = await check(prevResult);
      expect(res.code, String(msg)).not.toBe(0);
      expect(res.json, String(msg)).toMatchObject({ code: 999, msg: expect.stringMatching(msg) });
    }
    expect((await cni('DEL', { node, pod, id: 'ctr-chk', conf })).code).toBe(0);
  });
});

describe('ptp data path', () => {
  it('pod ↔ node, pod ↔ pod through the node, and a pod masqueraded to an outside namespace', async () => {
    const node = makeNetns('node');
    const pods = [makeNetns('pod'), makeNetns('pod')];
    const outside = outsideOf(node);
    const conf = ptpConf({ dataDir: tempDir('ipam') });
    for (const [i, pod] of pods.entries()) {
      const add = await cni('ADD', { node, pod, id: `ctr-${i}`, conf });
      expect(add.code, add.stdout).toBe(0);
    }
    const ping = (from: Netns, to: string) => inNs(from.name, 'ping', '-c', '1', '-W', '2', to);
    ping(pods[0]!, '10.98.0.1');
    ping(node, '10.98.0.2');
    ping(node, '10.98.0.3');
    // the other pod is in the same subnet, yet reached through the gateway (the node routes it)
    ping(pods[0]!, '10.98.0.3');
    ping(pods[1]!, '10.98.0.2');
    const neighbours = ipJson<Array<{ dst: string }>>('-n', pods[0]!.name, 'neigh').map((n) => n.dst);
    expect(neighbours).not.toContain('10.98.0.3');
    const port = 41_000 + Math.floor(Math.random() * 1000);
    expect(await udpProbe({ from: pods[1]!, to: outside, address: '192.0.2.2', port })).toEqual({
      sent: 'sent',
      received: 'hello from 192.0.2.1',
    });
    for (const [i, pod] of pods.entries()) expect((await cni('DEL', { node, pod, id: `ctr-${i}`, conf })).code).toBe(0);
    expect(masqElements(node)).toEqual([]);
  });

  it('without ipMasq the outside sees the pod itself', async () => {
    const node = makeNetns('node');
    const pod = makeNetns('pod');
    const outside = outsideOf(node);
    ip('-n', outside.name, 'route', 'add', '10.98.0.0/24', 'via', '192.0.2.1');
    const conf = ptpConf({ dataDir: tempDir('ipam'), extra: { ipMasq: false } });
    expect((await cni('ADD', { node, pod, id: 'ctr-nomasq', conf })).code).toBe(0);
    const port = 42_000 + Math.floor(Math.random() * 1000);
    expect(await udpProbe({ from: pod, to: outside, address: '192.0.2.2', port })).toEqual({
      sent: 'sent',
      received: 'hello from 10.98.0.2',
    });
    expect(masqElements(node)).toEqual([]);
    expect((await cni('DEL', { node, pod, id: 'ctr-nomasq', conf })).code).toBe(0);
  });
});

describe('ptp DEL', () => {
  it('releases IPAM and masquerade when the namespace is gone, and without CNI_NETNS', async () => {
    const { node, pod } = nodeAndPod();
    const dataDir = tempDir('ipam');
    const conf = ptpConf({ dataDir });
    const add = await cni('ADD', { node, pod, id: 'ctr-gone', conf });
    expect(add.code, add.stdout).toBe(0);
    expect(hasMasqElement(node, '10.98.0.2')).toBe(true);
    removeNetns(pod.name);
    const del = await cni('DEL', { node, pod, id: 'ctr-gone', conf });
    expect(del, del.stdout).toMatchObject({ code: 0, stdout: '' });
    // the kernel took the veth with the namespace
    expect(hostEnds(node)).toEqual([]);
    expect(reserved(dataDir)).toEqual([]);
    expect(masqElements(node)).toEqual([]);

    const pod2 = makeNetns('pod');
    expect((await cni('ADD', { node, pod: pod2, id: 'ctr-nons', conf })).code).toBe(0);
    // host-local goes on after the last address it gave
    expect(hasMasqElement(node, '10.98.0.3')).toBe(true);
    const noNetns = await cni('DEL', { node, netnsPath: '', id: 'ctr-nons', conf });
    expect(noNetns, noNetns.stdout).toMatchObject({ code: 0, stdout: '' });
    expect(reserved(dataDir)).toEqual([]);
    expect(masqElements(node)).toEqual([]);
  });

  it('succeeds when the link is gone, removing its masquerade elements (found by their comment)', async () => {
    const { node, pod } = nodeAndPod();
    const dataDir = tempDir('ipam');
    const conf = ptpConf({ dataDir });
    const add = await cni('ADD', { node, pod, id: 'ctr-nolink', conf });
    expect(add.code, add.stdout).toBe(0);
    expect(hasMasqElement(node, '10.98.0.2')).toBe(true);
    ip('-n', pod.name, 'link', 'del', 'eth0');
    const del = await cni('DEL', { node, pod, id: 'ctr-nolink', conf });
    expect(del, del.stdout).toMatchObject({ code: 0, stdout: '' });
    expectNothingLeft(node, pod, dataDir);
  });
});

describe('ptp DEL order', () => {
  it('calls IPAM DEL while the link is still there (a DHCP IPAM sends its release through it)', async () => {
    const { node, pod } = nodeAndPod();
    const binDir = tempDir('bin');
    const seen = join(binDir, 'seen');
    // an IPAM plugin that records, on DEL, whether the pod's interface still exists
    writeFileSync(
      join(binDir, 'link-probe'),
      `#!/bin/sh\ncat >/dev/null\ncase "$CNI_COMMAND" in\n` +
        `ADD) echo '{"cniVersion":"1.0.0","ips":[{"address":"10.98.0.7/24","gateway":"10.98.0.1"}]}' ;;\n` +
        `DEL) if nsenter --net="$CNI_NETNS" ip link show "$CNI_IFNAME" >/dev/null 2>&1; then echo present; else echo absent; fi > ${seen} ;;\n` +
        `esac\n`,
      { mode: 0o755 },
    );
    const conf = ptpConf({ dataDir: tempDir('ipam'), extra: { ipam: { type: 'link-probe' } } });
    const path = `${binDir}:${OUR_BIN}`;
    expect((await cni('ADD', { node, pod, id: 'ctr-order', conf, path })).code).toBe(0);
    expect(cidrsOf(pod, 'eth0')).toEqual(['10.98.0.7/24']);
    const del = await cni('DEL', { node, pod, id: 'ctr-order', conf, path });
    expect(del, del.stdout).toMatchObject({ code: 0, stdout: '' });
    expect(readFileSync(seen, 'utf8').trim()).toBe('present');
    expect(hostEnds(node)).toEqual([]);
    expect(addrs(pod).map((l) => l.ifname)).toEqual(['lo']);
  });
});

describe('ptp GC', () => {
  it('removes the masquerade elements of attachments that are not valid', async () => {
    const node = makeNetns('node');
    const pods = [makeNetns('pod'), makeNetns('pod')];
    const conf = ptpConf({ dataDir: tempDir('ipam') });
    for (const [i, pod] of pods.entries()) expect((await cni('ADD', { node, pod, id: `ctr-${i}`, conf })).code).toBe(0);
    const gc = await cni('GC', {
      node,
      id: 'gc',
      conf: { ...conf, cniVersion: '1.1.0', 'cni.dev/valid-attachments': [{ containerID: 'ctr-1', ifname: 'eth0' }] },
    });
    expect(gc.code, gc.stdout + gc.stderr).toBe(0);
    expect(hasMasqElement(node, '10.98.0.2')).toBe(false);
    expect(hasMasqElement(node, '10.98.0.3')).toBe(true);
    expect((await cni('DEL', { node, pod: pods[1]!, id: 'ctr-1', conf })).code).toBe(0);
    expect(masqElements(node)).toEqual([]);
  });
});

describe('ptp bad input', () => {
  it('each gets its code, a message naming the problem, and leaves nothing behind', async () => {
    const { node, pod } = nodeAndPod();
    const dataDir = tempDir('ipam');
    const base = ptpConf({ dataDir });
    // an IPAM plugin that answers an address without a gateway
    const binDir = tempDir('bin');
    const noGateway = join(binDir, 'no-gateway');
    writeFileSync(
      noGateway,
      `#!/bin/sh\ncat >/dev/null\n[ "$CNI_COMMAND" = ADD ] && echo '{"cniVersion":"1.0.0","ips":[{"address":"10.98.0.9/24"}]}'\nexit 0\n`,
      { mode: 0o755 },
    );
    writeFileSync(
      join(binDir, 'wrong-family'),
      `#!/bin/sh\ncat >/dev/null\n[ "$CNI_COMMAND" = ADD ] && echo '{"cniVersion":"1.0.0","ips":[{"address":"10.98.0.9/24","gateway":"fd98::1"}]}'\nexit 0\n`,
      { mode: 0o755 },
    );
    const cases: Array<[Record<string, unknown>, number, RegExp, string?]> = [
      [{ ipam: undefined }, 7, /^ipam: required/],
      [{ ipam: { type: '' } }, 7, /^ipam\.type: /],
      [{ mtu: 'big' }, 7, /^mtu: /],
      [{ mtu: -1 }, 7, /^mtu: /],
      [{ ipMasqBackend: 'pf' }, 7, /^ipMasqBackend: /],
      [{ ipMasq: 'yes' }, 7, /^ipMasq: /],
      [{ mtu: 10 }, 7, /^mtu: must be 0 \(the kernel default\) or 68 to 65535/],
      [{ ipam: { type: 'no-gateway' } }, 7, /^IPAM result ips\[0\]\.gateway: missing/],
      // the kernel refuses the route in the second native call: the veth goes, the address is released
      [{ ipam: { ...(base.ipam as object), routes: [{ dst: '10.50.0.0/16', gw: '192.0.2.99' }] } }, 999, /192\.0\.2\.99/],
      [{ ipam: { type: 'wrong-family' } }, 7, /^IPAM result ips\[0\]\.gateway: fd98::1 is not of the family/],
    ];
    for (const [extra, code, msg] of cases) {
      const run = await cni('ADD', { node, pod, id: 'ctr-bad', conf: { ...base, ...extra }, path: `${binDir}:${OUR_BIN}` });
      const label = JSON.stringify(extra);
      expect(run.code, label).not.toBe(0);
      expect(run.json, label).toMatchObject({ code, msg: expect.stringMatching(msg) });
      expectNothingLeft(node, pod, dataDir);
    }
    // an interface of that name in the pod already: ours is not touched, IPAM released
    ip('-n', pod.name, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth0-peer');
    const clash = await cni('ADD', { node, pod, id: 'ctr-bad', conf: base });
    expect(clash.code).not.toBe(0);
    expect(clash.json).toMatchObject({ msg: expect.stringMatching(/eth0/) });
    expect(hostEnds(node)).toEqual([]);
    expect(reserved(dataDir)).toEqual([]);
    expect(masqElements(node)).toEqual([]);
    expect(
      addrs(pod)
        .map((l) => l.ifname)
        .sort(),
    ).toEqual(['eth0', 'eth0-peer', 'lo']);
  });
});
