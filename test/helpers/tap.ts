// What the tap plugin's tests read and do: a link's tun details with ip(8) and its owner and group
// from sysfs inside the pod, and a peer on the far side of a tap — a Python process in the pod's
// namespace that attaches to the persistent device (TUNSETIFF on its name), answers ARP and ICMP
// echo requests by writing frames into it, and reports what it read.
import { spawn } from 'node:child_process';
import { inNs, ipJson, type Netns } from './netns.js';
import { execWith } from './run-plugin.js';

export interface TunLink {
  ifname: string;
  mtu: number;
  address: string;
  flags: string[];
  master?: string;
  linkinfo?: { info_kind?: string; info_data?: Record<string, unknown> };
}

/** `ip -j -d link show <ifname>` in the pod, or undefined when there is no such link. */
export function tunLink(pod: Netns, ifname: string): TunLink | undefined {
  return ipJson<TunLink[]>('-n', pod.name, '-d', 'link').find((l) => l.ifname === ifname);
}

/** owner and group of a tun device as its sysfs files in the pod's namespace give them (-1: none). */
export function tunOwnership(pod: Netns, ifname: string): { owner: string; group: string } {
  const read = (f: string) => inNs(pod.name, 'cat', `/sys/class/net/${ifname}/${f}`).trim();
  return { owner: read('owner'), group: read('group') };
}

/** Names of the pod's links other than lo. */
export function podLinks(pod: Netns): string[] {
  return ipJson<Array<{ ifname: string }>>('-n', pod.name, 'link')
    .map((l) => l.ifname)
    .filter((n) => n !== 'lo');
}

const PEER = String.raw`
import fcntl, os, select, struct, sys, time
ifname, peer_ip, peer_mac = sys.argv[1], bytes(map(int, sys.argv[2].split('.'))), bytes.fromhex(sys.argv[3].replace(':', ''))
fd = os.open('/dev/net/tun', os.O_RDWR)
fcntl.ioctl(fd, 0x400454ca, struct.pack('16sH22x', ifname.encode(), 0x0002 | 0x1000))  # TUNSETIFF IFF_TAP|IFF_NO_PI
print('attached', flush=True)
def csum(b):
    if len(b) % 2: b += b'\0'
    s = sum(struct.unpack('!%dH' % (len(b) // 2), b))
    while s >> 16: s = (s & 0xffff) + (s >> 16)
    return (~s) & 0xffff
deadline = time.time() + 8
while time.time() < deadline:
    if not select.select([fd], [], [], 0.2)[0]: continue
    f = os.read(fd, 65536)
    dst, src, etype = f[0:6], f[6:12], f[12:14]
    if etype == b'\x08\x06' and f[20:22] == b'\x00\x01' and f[38:42] == peer_ip:
        print('read arp request from', src.hex(':'), flush=True)
        arp = f[14:22][:6] + b'\x00\x02' + peer_mac + peer_ip + f[22:28] + f[28:32]
        os.write(fd, src + peer_mac + etype + arp)
    elif etype == b'\x08\x00' and f[23] == 1 and f[30:34] == peer_ip and f[34] == 8:
        print('read echo request', flush=True)
        ip = bytearray(f[14:34]); ip[12:16], ip[16:20] = f[30:34], f[26:30]; ip[10:12] = b'\0\0'
        ip[10:12] = struct.pack('!H', csum(bytes(ip)))
        icmp = bytearray(f[34:]); icmp[0] = 0; icmp[2:4] = b'\0\0'; icmp[2:4] = struct.pack('!H', csum(bytes(icmp)))
        os.write(fd, src + peer_mac + etype + bytes(ip) + bytes(icmp))
        print('wrote echo reply', flush=True)
        sys.exit(0)
print('timeout', flush=True)
`;

/**
 * A peer at `peerIp` behind the pod's tap `ifname`: a process that attaches to the tap and answers
 * one ping; the pod pings it. Returns ping's exit code and the lines the peer printed.
 */
export async function pingThroughTap(pod: Netns, ifname: string, peerIp: string): Promise<{ ping: number; peer: string[] }> {
  const env = { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin' };
  const peer = spawn('ip', ['netns', 'exec', pod.name, 'python3', '-c', PEER, ifname, peerIp, '02:00:00:00:00:99'], { env });
  let out = '';
  const done = new Promise<void>((resolve) => peer.on('close', () => resolve()));
  await new Promise<void>((resolve) => {
    peer.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('attached')) resolve();
    });
    peer.on('close', () => resolve());
  });
  const ping = await execWith('ip', ['netns', 'exec', pod.name, 'ping', '-c', '1', '-W', '5', peerIp], env, '');
  await done;
  return { ping: ping.code, peer: out.trim().split('\n') };
}
