// What the controller asks of the node's kernel: one reconcile call with the complete peer set
// (contract A, native overlaySync), and the node's underlay address when the file names none.
import { addrList, overlaySync, routeList, type OverlayRequest, type OverlayState } from '../native.js';
import { cidrContains, formatIp, parseCidr, parseIp } from '../net/ip.js';

export type { OverlayPeer, OverlayRequest, OverlayState } from '../native.js';

/** The kernel side of the controller: injectable so a library user can bring another. */
export interface OverlayBackend {
  sync(req: OverlayRequest): Promise<OverlayState>;
}

/** The native backend (src/native.ts overlaySync). */
export const nativeBackend: OverlayBackend = { sync: overlaySync };

function isGlobal(cidr: string): boolean {
  const c = parseCidr(cidr);
  if (!c) return false;
  if (c.ip.family === 4) return !cidrContains(parseCidr('127.0.0.0/8')!, c.ip) && !cidrContains(parseCidr('169.254.0.0/16')!, c.ip);
  return !cidrContains(parseCidr('fe80::/10')!, c.ip) && c.ip.value !== 1n;
}

/**
 * The node's underlay address in `netns`: the address whose subnet holds the default route's
 * gateway (what the kernel picks as its source), else the first global address.
 */
export async function findPublicIp(netns: string | undefined): Promise<string> {
  const addrs = (await addrList(netns)).filter(isGlobal);
  const routes = await routeList(netns);
  for (const r of routes) {
    if (!r.gw || (r.dst !== '0.0.0.0/0' && r.dst !== '::/0' && r.dst !== 'default')) continue;
    const gw = parseIp(r.gw);
    const match = gw && addrs.find((a) => cidrContains(parseCidr(a)!, gw));
    if (match) return formatIp(parseCidr(match)!.ip);
  }
  const first = addrs.find((a) => parseCidr(a)?.ip.family === 4) ?? addrs[0];
  if (!first) throw new Error(`publicIP: no global address in ${netns ?? "the agent's network namespace"}; name one in the cluster file`);
  return formatIp(parseCidr(first)!.ip);
}
