// zod schemas and types of plugin results in every spec version: 0.1.0/0.2.0, 0.3.x/0.4.0, 1.0.0/1.1.0.
import { z } from 'zod';
import { cidrString, goInt, ipString } from './fields.js';

/** Optional field that, like Go, treats null as absent. */
function opt<T extends z.ZodType>(t: T) {
  return t.nullish().transform((v) => v ?? undefined);
}
/** Go's net.IP: "" and null mean no address. */
const optIp = z
  .union([z.literal(''), ipString])
  .nullish()
  .transform((v) => v || undefined);
const optStr = z
  .string()
  .nullish()
  .transform((v) => v || undefined);
const optNum = goInt.nullish().transform((v) => v || undefined);
const optStrList = z
  .array(z.string())
  .nullish()
  .transform((v) => (v?.length ? v : undefined));

/** A route (types.Route): dst, gw and the 1.1.0 extras; table and scope keep 0. */
export const routeSchema = z.object({
  dst: cidrString,
  gw: optIp,
  mtu: optNum,
  advmss: optNum,
  priority: optNum,
  table: opt(goInt),
  scope: opt(goInt),
});
export type Route = z.output<typeof routeSchema>;

/** `dns` of a result (types.DNS). */
export const resultDnsSchema = z.object({ nameservers: optStrList, domain: optStr, search: optStrList, options: optStrList });
export type ResultDns = z.output<typeof resultDnsSchema>;

/** 0.1.0 / 0.2.0: one address per family. */
export const ipConfig020Schema = z.object({ ip: cidrString, gateway: optIp, routes: opt(z.array(routeSchema)) });
export const result020Schema = z.object({
  cniVersion: optStr,
  ip4: opt(ipConfig020Schema),
  ip6: opt(ipConfig020Schema),
  dns: opt(resultDnsSchema),
});
export type Result020 = z.output<typeof result020Schema>;

/** 0.3.0 / 0.3.1 / 0.4.0 (the reference emits `ips` for 0.3.0 too). */
export const interface040Schema = z.object({
  name: z
    .string()
    .nullish()
    .transform((v) => v ?? ''),
  mac: optStr,
  sandbox: optStr,
});
export const ipConfig040Schema = z.object({
  version: z
    .string()
    .nullish()
    .transform((v) => v ?? ''),
  interface: opt(goInt),
  address: cidrString,
  gateway: optIp,
});
export const result040Schema = z.object({
  cniVersion: optStr,
  interfaces: opt(z.array(interface040Schema)),
  ips: opt(z.array(ipConfig040Schema)),
  routes: opt(z.array(routeSchema)),
  dns: opt(resultDnsSchema),
});
export type Result040 = z.output<typeof result040Schema>;

/** 1.0.0 / 1.1.0 (one Go type; 1.1.0 added interface mtu/socketPath/pciID and route extras). */
export const interface100Schema = z.object({
  name: z
    .string()
    .nullish()
    .transform((v) => v ?? ''),
  mac: optStr,
  mtu: optNum,
  sandbox: optStr,
  socketPath: optStr,
  pciID: optStr,
});
export const ipConfig100Schema = z.object({ interface: opt(goInt), address: cidrString, gateway: optIp });
export const result100Schema = z.object({
  cniVersion: optStr,
  interfaces: opt(z.array(interface100Schema)),
  ips: opt(z.array(ipConfig100Schema)),
  routes: opt(z.array(routeSchema)),
  dns: opt(resultDnsSchema),
});
export type Result100 = z.output<typeof result100Schema>;

/** A result in any version's shape. */
export type VersionedResult = Result020 | Result040 | Result100;
