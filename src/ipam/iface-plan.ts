// From an IPAM result to what an interface plugin reports and asks the kernel for, as the
// reference's ipam.ConfigureIface reads a result: every IP belongs to the one interface the plugin
// configures, and a route without a gateway goes through the first gateway of its family.
// Reference: containernetworking/plugins pkg/ipam/ipam_linux.go.
import type { NativeRoute, PodIface } from '../native.js';
import { ipFamily } from '../net/ip.js';
import { CniError, ErrorCode } from '../spec/errors.js';
import type { Result } from '../spec/result.js';

type Ip = NonNullable<Result['ips']>[number];
type Route = NonNullable<Result['routes']>[number];

export interface IfacePlan {
  /** the result's IPs, each with `interface` set to the configured interface's index */
  ips: Ip[];
  /** the result's routes, as IPAM gave them */
  routes: Route[];
  /** the kernel's side: addresses and routes with gateways resolved */
  iface: PodIface;
}

/** An IPAM gateway of another family than its address is refused (code 7, naming the result field). */
export function checkGatewayFamily(ips: readonly Ip[]): void {
  ips.forEach((ip, i) => {
    if (ip.gateway && ipFamily(ip.gateway) !== ipFamily(ip.address)) {
      throw new CniError(
        ErrorCode.InvalidNetworkConfig,
        `IPAM result ips[${i}].gateway: ${ip.gateway} is not of the family of the address ${ip.address}`,
      );
    }
  });
}

/**
 * Routes as the kernel gets them: a route's own gateway, else the first IP's gateway of the route's
 * family (none: an on-link route); priority, table and scope kept (ConfigureIface ignores mtu and
 * advmss, and so do we).
 */
export function resolveRoutes(routes: readonly Route[], ips: readonly Ip[]): NativeRoute[] {
  const firstGw = (family: 4 | 6) => ips.find((i) => i.gateway && ipFamily(i.address) === family)?.gateway;
  return routes.map((r): NativeRoute => {
    const gw = r.gw ?? firstGw(ipFamily(r.dst) === 6 ? 6 : 4);
    const out: NativeRoute = { dst: r.dst };
    if (gw) out.gw = gw;
    if (r.priority !== undefined) out.priority = r.priority;
    if (r.table !== undefined) out.table = r.table;
    if (r.scope !== undefined) out.scope = r.scope;
    return out;
  });
}

/**
 * The plan for one interface at `ifaceIndex` in the result's interfaces, with `notify` (gratuitous
 * ARP / unsolicited NA on address add) as the plugin wants it. Gateways are checked first.
 */
export function planIface(ipam: Result, ifaceIndex: number, notify = false): IfacePlan {
  const source = ipam.ips ?? [];
  checkGatewayFamily(source);
  const ips = source.map((ip) => ({ ...ip, interface: ifaceIndex }));
  const routes = [...(ipam.routes ?? [])];
  // the reference's ConfigureIface settles the addresses when an IP has an IPv6 gateway
  const settle = ips.some((ip) => ip.gateway !== undefined && ipFamily(ip.gateway) === 6);
  return { ips, routes, iface: { addresses: ips.map((ip) => ip.address), routes: resolveRoutes(routes, ips), notify, settle } };
}

/** The config's own DNS replaces IPAM's when any of its fields is set (the reference's rule). */
export function chooseDns(own: Result['dns'] | undefined, ipam: Result): Result['dns'] {
  if (own && (own.nameservers !== undefined || own.search !== undefined || own.options !== undefined || own.domain)) return own;
  return ipam.dns;
}
