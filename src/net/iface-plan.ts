// TEMPORARY stand-in for the shared iface plan (replaced by main's before merging).
import type { Result } from '../spec/result.js';
import { ipFamily } from './ip.js';

type Ip = NonNullable<Result['ips']>[number];
type Route = NonNullable<Result['routes']>[number];

export function planIface(ipam: Result, index: number) {
  const ips: Ip[] = (ipam.ips ?? []).map((i) => ({ ...i, interface: index }));
  const routes: Route[] = [...(ipam.routes ?? [])];
  const firstGw = (f: 4 | 6 | undefined) => ips.find((i) => i.gateway && ipFamily(i.address) === f)?.gateway;
  const nativeRoutes = routes.map((r) => {
    const gw = r.gw ?? firstGw(ipFamily(r.dst));
    const out: { dst: string; gw?: string; priority?: number; table?: number; scope?: number } = { dst: r.dst };
    if (gw) out.gw = gw;
    if (r.priority !== undefined) out.priority = r.priority;
    if (r.table !== undefined) out.table = r.table;
    if (r.scope !== undefined) out.scope = r.scope;
    return out;
  });
  return { ips, routes, iface: { addresses: ips.map((i) => i.address), routes: nativeRoutes } };
}

export function chooseDns(d: Result['dns'], ipam: Result): Result['dns'] {
  if (d && (d.nameservers !== undefined || d.search !== undefined || d.options !== undefined || d.domain)) return d;
  return ipam.dns;
}
