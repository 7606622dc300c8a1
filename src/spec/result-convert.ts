// Result version conversion exactly as the reference's pkg/types/{020,040,100} converters
// (https://github.com/containernetworking/cni/tree/main/pkg/types).
import type { Result } from './result.js';
import { ipFamily } from '../net/ip.js';
import { CURRENT_VERSION, resultFamily, type ResultFamily } from './versions.js';
import { result020Schema, result040Schema, result100Schema } from './result-schemas.js';
import type { Result020, Result040, Result100, ResultDns, Route, VersionedResult } from './result-schemas.js';
import { parseWithSchema } from './zod-errors.js';

function copyDns(d: ResultDns | undefined): ResultDns | undefined {
  if (!d) return undefined;
  return {
    nameservers: d.nameservers && [...d.nameservers],
    domain: d.domain,
    search: d.search && [...d.search],
    options: d.options && [...d.options],
  };
}
const copyRoute = (r: Route): Route => ({ ...r });
const nonEmpty = <T>(a: T[]): T[] | undefined => (a.length ? a : undefined);

/** 1.x → 0.3.x/0.4.0: `version` from the address family; interface extras dropped; routes copied whole. */
function to040(r: Result100, v: string): Result040 {
  return {
    cniVersion: v,
    interfaces: r.interfaces && nonEmpty(r.interfaces.map((i) => ({ name: i.name, mac: i.mac, sandbox: i.sandbox }))),
    ips:
      r.ips &&
      nonEmpty(
        r.ips.map((ip) => ({
          version: ipFamily(ip.address) === 4 ? '4' : '6',
          interface: ip.interface,
          address: ip.address,
          gateway: ip.gateway,
        })),
      ),
    routes: r.routes && nonEmpty(r.routes.map(copyRoute)),
    dns: copyDns(r.dns),
  };
}

/** 0.3.x/0.4.0 → 1.x: `version` dropped; interfaces keep name/mac/sandbox; routes copied whole. */
function from040(r: Result040, v: string): Result100 {
  return {
    cniVersion: v,
    interfaces:
      r.interfaces &&
      nonEmpty(
        r.interfaces.map((i) => ({
          name: i.name,
          mac: i.mac,
          mtu: undefined,
          sandbox: i.sandbox,
          socketPath: undefined,
          pciID: undefined,
        })),
      ),
    ips: r.ips && nonEmpty(r.ips.map((ip) => ({ interface: ip.interface, address: ip.address, gateway: ip.gateway }))),
    routes: r.routes && nonEmpty(r.routes.map(copyRoute)),
    dns: copyDns(r.dns),
  };
}

/** 0.1.0/0.2.0 → 0.3.x/0.4.0: ip4 then ip6 become `ips`, their routes are concatenated; no interfaces. */
function from020(r: Result020, v: string): Result040 {
  const ips: NonNullable<Result040['ips']> = [];
  const routes: Route[] = [];
  for (const [ipc, version] of [
    [r.ip4, '4'],
    [r.ip6, '6'],
  ] as const) {
    if (!ipc) continue;
    ips.push({ version, interface: undefined, address: ipc.ip, gateway: ipc.gateway });
    routes.push(...(ipc.routes ?? []).map(copyRoute));
  }
  return { cniVersion: v, interfaces: undefined, ips: nonEmpty(ips), routes: nonEmpty(routes), dns: copyDns(r.dns) };
}

/**
 * 0.3.x/0.4.0 → 0.1.0/0.2.0: the first IPv4 and first IPv6 entry (by their `version` field); routes
 * split by destination family keeping only dst and gw; routes of a family without address are lost.
 */
function to020(r: Result040, v: string): Result020 {
  let ip4: Result020['ip4'];
  let ip6: Result020['ip6'];
  for (const ip of r.ips ?? []) {
    if (ip.version === '4' && !ip4) ip4 = { ip: ip.address, gateway: ip.gateway, routes: undefined };
    else if (ip.version === '6' && !ip6) ip6 = { ip: ip.address, gateway: ip.gateway, routes: undefined };
    if (ip4 && ip6) break;
  }
  for (const route of r.routes ?? []) {
    const target = ipFamily(route.dst) === 4 ? ip4 : ip6;
    if (target)
      (target.routes ??= []).push({
        dst: route.dst,
        gw: route.gw,
        mtu: undefined,
        advmss: undefined,
        priority: undefined,
        table: undefined,
        scope: undefined,
      });
  }
  if (!ip4 && !ip6) throw new Error('cannot convert: no valid IP addresses');
  return { cniVersion: v, ip4, ip6, dns: copyDns(r.dns) };
}

function familyOf(version: string, other: string): ResultFamily {
  const f = resultFamily(version);
  if (!f) throw new Error(`no converter for CNI result version ${version} to ${other}`);
  return f;
}

/**
 * Convert a result from one spec version's shape to another's, as the reference does.
 * Same version → returned unchanged. Throws a plain Error (→ code 999, like the reference) when
 * the target cannot hold the result ("cannot convert: no valid IP addresses") or a version is unknown.
 */
export function convertResult(r: VersionedResult, from: string, to: string): VersionedResult {
  if (from === to) return r;
  const ff = familyOf(from, to);
  const tf = familyOf(to, from);
  const as020 = r as Result020;
  const as040 = r as Result040;
  const as100 = r as Result100;
  switch (`${ff}>${tf}`) {
    case '100>100':
      return { ...as100, cniVersion: to };
    case '100>040':
      return to040(as100, to);
    case '100>020':
      return to020(to040(as100, '0.4.0'), to);
    case '040>100':
      return from040(as040, to);
    case '040>040':
      return { ...as040, cniVersion: to };
    case '040>020':
      return to020(as040, to);
    case '020>100':
      return from040(from020(as020, '0.4.0'), to);
    case '020>040':
      return from020(as020, to);
    default:
      return { ...as020, cniVersion: to };
  }
}

/** Validate a result in the shape of `version` (zod issues → CniError 7 under `prefix`). */
export function parseResult(raw: unknown, version: string, prefix = ''): VersionedResult {
  const fam = familyOf(version, CURRENT_VERSION);
  const schema = fam === '020' ? result020Schema : fam === '040' ? result040Schema : result100Schema;
  return parseWithSchema(schema, raw, prefix);
}

/** A result of the given version's shape, in the newest form (what plugins work with). */
export function toCurrentResult(raw: unknown, version: string, prefix = ''): Result {
  const parsed = parseResult(raw, version, prefix);
  return convertResult(parsed, version, CURRENT_VERSION) as Result;
}

/** A plugin's newest-form result converted to the request's version (a missing cniVersion means 1.1.0). */
export function resultForVersion(result: Result, version: string): VersionedResult {
  const from = result.cniVersion || CURRENT_VERSION;
  return convertResult({ ...result, cniVersion: from } as Result100, from, version);
}
