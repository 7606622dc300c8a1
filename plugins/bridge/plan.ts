// Turns the IPAM result and the bridge config into the result's IPs and routes and the request of the
// ADD's second native stage (addresses, routes, gateway), refusing an IPAM result that the kernel
// would take but that makes no sense for a bridge.
import type { NativeRoute } from '../../src/native.js';
import { formatIp, ipFamily, networkOf, nextIp, parseCidr } from '../../src/net/ip.js';
import { checkGatewayFamily, resolveRoutes } from '../../src/ipam/iface-plan.js';
import type { Result } from '../../src/spec/result.js';
import type { BridgeConfig } from './config.js';

type Ip = NonNullable<Result['ips']>[number];
type Route = NonNullable<Result['routes']>[number];

/** Index of the container interface in the result's interfaces: [bridge, host veth, container]. */
export const CONTAINER_IFACE_INDEX = 2;

export interface L3Plan {
  ips: Ip[];
  routes: Route[];
  /** routes as the kernel gets them in the container: gateway resolved per family */
  nativeRoutes: NativeRoute[];
  /** gateway CIDRs for the bridge (isGateway) */
  bridgeAddresses: string[];
  forwardV4: boolean;
  forwardV6: boolean;
}

/** Whether an address or CIDR is IPv6 as Go's To4() decides it (an IPv4-mapped address is IPv4). */
function isV6(addr: string): boolean {
  return ipFamily(addr) === 6;
}

/** network address + 1 of a CIDR, the reference's default gateway (calcGatewayIP) */
function firstHost(cidr: string): string {
  const c = parseCidr(cidr);
  if (!c) throw new Error(`not a CIDR: ${cidr}`);
  return formatIp(nextIp(networkOf(c)));
}

function prefixOf(cidr: string): string {
  return cidr.slice(cidr.indexOf('/') + 1);
}

function isDefaultDst(dst: string): boolean {
  return dst === '0.0.0.0/0' || dst === '::/0';
}

/**
 * Gateways, default routes and bridge addresses exactly as the reference's calcGateways decides them,
 * after checking the IPAM result's gateways (a CniError, code 7, names the result field).
 */
export function planL3(conf: BridgeConfig, ipam: Result): L3Plan {
  checkGatewayFamily(ipam.ips ?? []);
  const isGateway = conf.isGateway || conf.isDefaultGateway;
  const routes: Route[] = [...(ipam.routes ?? [])];
  const ips: Ip[] = [];
  const bridgeAddresses: string[] = [];
  const defaultFound = { v4: false, v6: false };
  for (const r of routes) {
    if (r.gw && isDefaultDst(r.dst)) defaultFound[isV6(r.dst) ? 'v6' : 'v4'] = true;
  }
  for (const original of ipam.ips ?? []) {
    const ip: Ip = { ...original, interface: CONTAINER_IFACE_INDEX };
    const family = isV6(ip.address) ? 'v6' : 'v4';
    if (!ip.gateway && isGateway) ip.gateway = firstHost(ip.address);
    if (conf.isDefaultGateway && !defaultFound[family]) {
      const dst = family === 'v6' ? '::/0' : '0.0.0.0/0';
      routes.push(ip.gateway ? { dst, gw: ip.gateway } : { dst });
      defaultFound[family] = true;
    }
    if (isGateway && ip.gateway) bridgeAddresses.push(`${ip.gateway}/${prefixOf(ip.address)}`);
    ips.push(ip);
  }
  return {
    ips,
    routes,
    nativeRoutes: resolveRoutes(routes, ips),
    bridgeAddresses,
    forwardV4: isGateway && bridgeAddresses.some((a) => !isV6(a)),
    forwardV6: isGateway && bridgeAddresses.some((a) => isV6(a)),
  };
}
