// The dhcp IPAM plugin and `fastcni dhcp-daemon` against dnsmasq serving DHCP in a test namespace:
// a pod on our bridge gets its address from the server, reaches it, keeps the lease renewed, and
// gives it back on DEL — also after the daemon restarted in between.
import { describe, expect, it } from 'vitest';
import { cidrsOf, cni } from '../helpers/fixtures.js';
import { inNs, makeNetns, ipJson } from '../helpers/netns.js';
import { clientIdHex, dhcpBridgeConf, dhcpLab, haveDnsmasq, SERVER_IP, startDhcpDaemon, waitFor } from '../helpers/dhcp.js';

describe.skipIf(!haveDnsmasq)('dhcp plugin with dnsmasq (through our bridge)', () => {
  it('ADD leases an address in the pod, CHECK holds, DEL releases it to the server', async () => {
    const lab = await dhcpLab();
    const daemon = await startDhcpDaemon(lab.dir);
    const pod = makeNetns('dpod');
    const conf = dhcpBridgeConf(daemon.socketPath);
    const id = 'dhcp-c1';

    const added = await cni('ADD', { node: lab.node, pod, id, conf });
    expect(added.stderr).toBe('');
    expect(added.code).toBe(0);
    const result = JSON.parse(added.stdout) as { ips: Array<{ address: string; gateway: string }>; routes: unknown[] };
    expect(result.ips).toHaveLength(1);
    expect(result.ips[0]!.address).toMatch(/^10\.77\.0\.(5\d|[6-9]\d)\/24$/);
    expect(result.ips[0]!.gateway).toBe(SERVER_IP);
    expect(result.routes).toEqual([{ dst: '0.0.0.0/0', gw: SERVER_IP }]);

    // the kernel: the address on the pod's interface, the default route through the server
    expect(cidrsOf(pod, 'eth0')).toEqual([result.ips[0]!.address]);
    const routes = ipJson<Array<{ dst: string; gateway?: string }>>('-n', pod.name, 'route', 'show', 'default');
    expect(routes.map((r) => r.gateway)).toEqual([SERVER_IP]);
    // the server: a lease for that address under the reference's client ID
    const ip = result.ips[0]!.address.split('/')[0]!;
    const lease = lab.leases().find((l) => l.split(' ')[2] === ip);
    expect(lease?.split(' ')[4]).toBe(clientIdHex(`${id}/dhcpnet/eth0`));
    // and traffic
    inNs(pod.name, 'ping', '-c', '1', '-W', '2', SERVER_IP);

    const checked = await cni('CHECK', { node: lab.node, pod, id, conf: { ...conf, prevResult: { cniVersion: '1.0.0', ...result } } });
    expect(checked.stdout + checked.stderr).toBe('');
    expect(checked.code).toBe(0);

    const deleted = await cni('DEL', { node: lab.node, pod, id, conf });
    expect(deleted.stdout + deleted.stderr).toBe('');
    expect(deleted.code).toBe(0);
    // dnsmasq drops a released lease from its file at once (no DHCPRELEASE: it stays until expiry)
    await waitFor('the lease to be released', () => !lab.leases().some((l) => l.includes(ip)), 3000);
    expect(lab.serverLog()).toMatch(new RegExp(`DHCPRELEASE\\(srv0\\) ${ip.replaceAll('.', '\\.')}`));
    expect(ipJson<Array<{ ifname: string }>>('-n', pod.name, 'link', 'show').map((l) => l.ifname)).toEqual(['lo']);
    // a second DEL finds nothing to release and succeeds
    expect((await cni('DEL', { node: lab.node, pod, id, conf })).code).toBe(0);
  });

  it('a restarted daemon still holds the lease: DEL after the restart releases it', async () => {
    const lab = await dhcpLab();
    let daemon = await startDhcpDaemon(lab.dir);
    const pod = makeNetns('dpod');
    const conf = dhcpBridgeConf(daemon.socketPath);
    const added = await cni('ADD', { node: lab.node, pod, id: 'dhcp-r1', conf });
    expect(added.code, added.stdout).toBe(0);
    const ip = (JSON.parse(added.stdout) as { ips: Array<{ address: string }> }).ips[0]!.address.split('/')[0]!;

    await daemon.stop();
    daemon = await startDhcpDaemon(lab.dir);
    expect(daemon.logs().some((l) => l.msg === 'lease adopted' && l.address === ip)).toBe(true);

    const deleted = await cni('DEL', { node: lab.node, pod, id: 'dhcp-r1', conf });
    expect(deleted.code, deleted.stdout).toBe(0);
    await waitFor('the lease to be released', () => !lab.leases().some((l) => l.includes(ip)), 3000);
    expect(lab.serverLog()).toMatch(new RegExp(`DHCPRELEASE\\(srv0\\) ${ip.replaceAll('.', '\\.')}`));
  });

  it('renews at T1 (option 58 from the server)', async () => {
    const lab = await dhcpLab({ dnsmasqArgs: ['--dhcp-option=option:T1,10', '--dhcp-option=option:T2,100'] });
    const daemon = await startDhcpDaemon(lab.dir);
    const pod = makeNetns('dpod');
    const conf = dhcpBridgeConf(daemon.socketPath, { ipam: { request: [{ option: '58' }, { option: '59' }] } });
    const added = await cni('ADD', { node: lab.node, pod, id: 'dhcp-t1', conf });
    expect(added.code, added.stdout).toBe(0);
    const ip = (JSON.parse(added.stdout) as { ips: Array<{ address: string }> }).ips[0]!.address.split('/')[0]!;
    await waitFor('a renewal', () => daemon.logs().some((l) => l.msg === 'lease renewed'), 15000);
    // the server saw the renewal: a second REQUEST for the address, answered with an ACK
    const requests = lab.serverLog().match(new RegExp(`DHCPREQUEST\\(srv0\\) ${ip.replaceAll('.', '\\.')}`, 'g')) ?? [];
    expect(requests.length).toBeGreaterThanOrEqual(2);
    expect((await cni('DEL', { node: lab.node, pod, id: 'dhcp-t1', conf })).code).toBe(0);
  });
});
