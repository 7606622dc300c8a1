// The dhcp IPAM under the plugins that make the pod's interface: macvlan and host-device make (or
// move in) the link before IPAM ADD, so the daemon can lease on it, and release IPAM before the
// link goes on DEL, so the release still leaves through it. Against dnsmasq in the dhcp lab.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cidrsOf, cni } from '../helpers/fixtures.js';
import { inNs, ip, ipJson, makeNetns, type Netns } from '../helpers/netns.js';
import { clientIdHex, dhcpLab, haveDnsmasq, LAB_BRIDGE, SERVER_IP, startDhcpDaemon, waitFor, type DhcpLab } from '../helpers/dhcp.js';

/** A veth in the lab's node namespace: `name` free to use, its peer a port of the lab's bridge. */
function labSegmentEnd(lab: DhcpLab, name: string): void {
  ip('-n', lab.node.name, 'link', 'add', name, 'type', 'veth', 'peer', 'name', `${name}p`);
  ip('-n', lab.node.name, 'link', 'set', `${name}p`, 'master', LAB_BRIDGE, 'up');
  ip('-n', lab.node.name, 'link', 'set', name, 'up');
}

const links = (ns: Netns) => ipJson<Array<{ ifname: string }>>('-n', ns.name, 'link', 'show').map((l) => l.ifname);

/**
 * ADD leases on the pod's `eth0` (in dnsmasq's lease file under the reference's client ID, on the
 * link, the server reachable), DEL gives it back (gone from the lease file, DHCPRELEASE logged).
 */
async function leaseAndRelease(lab: DhcpLab, conf: { name: string; type: string }, id: string): Promise<Netns> {
  const pod = makeNetns('dpod');
  const added = await cni('ADD', { node: lab.node, pod, id, conf });
  expect(added.stderr).toBe('');
  expect(added.code, added.stdout).toBe(0);
  const result = JSON.parse(added.stdout) as { ips: Array<{ address: string; gateway: string }> };
  expect(result.ips).toHaveLength(1);
  const address = result.ips[0]!.address;
  expect(address).toMatch(/^10\.77\.0\.(5\d|[6-9]\d)\/24$/);
  expect(cidrsOf(pod, 'eth0')).toEqual([address]);
  const leased = address.split('/')[0]!;
  const lease = lab.leases().find((l) => l.split(' ')[2] === leased);
  expect(lease?.split(' ')[4]).toBe(clientIdHex(`${id}/${conf.name}/eth0`));
  inNs(pod.name, 'ping', '-c', '1', '-W', '2', SERVER_IP);

  const deleted = await cni('DEL', { node: lab.node, pod, id, conf });
  expect(deleted.stdout + deleted.stderr).toBe('');
  expect(deleted.code).toBe(0);
  // dnsmasq drops a released lease at once; one not released stays until it expires
  await waitFor('the lease to be released', () => !lab.leases().some((l) => l.split(' ')[2] === leased), 3000);
  expect(lab.serverLog()).toMatch(new RegExp(`DHCPRELEASE\\(srv0\\) ${leased.replaceAll('.', '\\.')}`));
  expect(links(pod)).toEqual(['lo']);
  return pod;
}

describe.skipIf(!haveDnsmasq)('dhcp IPAM through the interface plugins', () => {
  // macvlan: its link on a port of the segment; host-device: a veth end on the segment moved in
  it.each([
    { type: 'macvlan', field: 'master', dev: 'mvup0' },
    { type: 'host-device', field: 'device', dev: 'hdev0' },
  ])('$type: leases on the pod link made before IPAM, releases before the link goes', async ({ type, field, dev }) => {
    const lab = await dhcpLab();
    const daemon = await startDhcpDaemon(lab.dir);
    labSegmentEnd(lab, dev);
    const conf = {
      cniVersion: '1.0.0',
      name: `dhcp-${type}`,
      type,
      [field]: dev,
      // host-device pins its moves there
      ...(type === 'host-device' ? { dataDir: join(lab.dir, 'host-device') } : {}),
      ipam: { type: 'dhcp', daemonSocketPath: daemon.socketPath },
    };
    await leaseAndRelease(lab, conf, `dhcp-${type}-1`);
    // the master stays; the device is back in the node
    expect(links(lab.node)).toContain(dev);
  });
});
