// For the tuning plugin's tests: a pod interface to tune, its attributes as ip(8) reports them, and
// sysctls as the pod's namespace shows them (read with cat, not with our code).
import { ip, inNs, ipJson, type Netns } from './netns.js';

/** A veth pair inside the pod (eth0 and its peer), standing in for a main plugin's interface. */
export function podInterface(pod: Netns, ifname = 'eth0'): void {
  ip('-n', pod.name, 'link', 'add', ifname, 'type', 'veth', 'peer', 'name', `${ifname}-peer`);
}

/** What tuning manages of a link, from `ip -j -d link show`; undefined when there is no such link. */
export interface LinkView {
  mac: string;
  mtu: number;
  promisc: boolean;
  allmulti: boolean;
  txqlen: number;
}

export function linkView(ns: Netns, ifname = 'eth0'): LinkView | undefined {
  const all = ipJson<Array<{ ifname: string; address: string; mtu: number; flags: string[]; txqlen: number }>>(
    '-n',
    ns.name,
    '-d',
    'link',
    'show',
  );
  const l = all.find((x) => x.ifname === ifname);
  if (!l) return undefined;
  return { mac: l.address, mtu: l.mtu, promisc: l.flags.includes('PROMISC'), allmulti: l.flags.includes('ALLMULTI'), txqlen: l.txqlen };
}

/** A sysctl of the pod's namespace, by its path below /proc/sys. */
export function podSysctl(ns: Netns, path: string): string {
  return inNs(ns.name, 'cat', `/proc/sys/${path}`).trim();
}
