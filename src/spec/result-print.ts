// Print results byte-for-byte as the reference does: json.MarshalIndent with 4 spaces, omitempty,
// 0.1–0.4 in struct order with `dns` always present, 1.x through a map (keys sorted, empty dns dropped).
import { goStringify, sortKeysDeep } from './go-json.js';
import { canonicalCidr, canonicalIp } from '../net/ip.js';
import { resultFamily } from './versions.js';
import type { Result020, Result040, Result100, ResultDns, Route, VersionedResult } from './result-schemas.js';

type Obj = Record<string, unknown>;

/** Keep only set fields: drop undefined, "" and (when `zero` is set) 0, like Go's omitempty. */
function compact(o: Obj, keepZero: readonly string[] = []): Obj {
  const out: Obj = {};
  for (const [k, v] of Object.entries(o)) {
    if (v === undefined || v === '' || (Array.isArray(v) && v.length === 0)) continue;
    if (v === 0 && !keepZero.includes(k)) continue;
    out[k] = v;
  }
  return out;
}

/** A route as types.Route marshals it: struct order, omitempty (table and scope keep 0). */
export function goRoute(r: Route): Obj {
  return compact(
    {
      dst: canonicalCidr(r.dst),
      gw: r.gw && canonicalIp(r.gw),
      mtu: r.mtu,
      advmss: r.advmss,
      priority: r.priority,
      table: r.table,
      scope: r.scope,
    },
    ['table', 'scope'],
  );
}

function goDns(d: ResultDns | undefined): Obj {
  return compact({ nameservers: d?.nameservers, domain: d?.domain, search: d?.search, options: d?.options });
}

function go020(r: Result020): Obj {
  const ipc = (c: Result020['ip4']) =>
    c && compact({ ip: canonicalCidr(c.ip), gateway: c.gateway && canonicalIp(c.gateway), routes: c.routes?.map(goRoute) });
  const out = compact({ cniVersion: r.cniVersion, ip4: ipc(r.ip4), ip6: ipc(r.ip6) });
  out.dns = goDns(r.dns);
  return out;
}

function go040or100(r: Result040 | Result100, fam: '040' | '100'): Obj {
  const interfaces = r.interfaces?.map((i) => {
    const full = i as { mtu?: number; socketPath?: string; pciID?: string };
    const base: Obj = { name: i.name ?? '', mac: i.mac };
    if (fam === '100') Object.assign(base, { mtu: full.mtu, sandbox: i.sandbox, socketPath: full.socketPath, pciID: full.pciID });
    else base.sandbox = i.sandbox;
    return { ...compact(base), name: i.name ?? '' };
  });
  const ips = r.ips?.map((ip) => {
    const version = (ip as { version?: string }).version;
    const o = compact({ interface: ip.interface, address: canonicalCidr(ip.address), gateway: ip.gateway && canonicalIp(ip.gateway) }, [
      'interface',
    ]);
    return fam === '040' ? { version: version ?? '', ...o } : o;
  });
  const dns = goDns(r.dns);
  const body = compact({ cniVersion: r.cniVersion, interfaces, ips, routes: r.routes?.map(goRoute) });
  // types040.Result is marshalled as a struct: field order, and `dns` (a struct) is never omitted.
  if (fam === '040') return { ...body, dns };
  // types100.Result round-trips through a map: keys sorted at every level, empty dns dropped.
  return sortKeysDeep(Object.keys(dns).length ? { ...body, dns } : body) as Obj;
}

/** The JSON object the reference would marshal for a result of `version`. */
export function resultToGoJson(r: VersionedResult, version: string): Obj {
  const fam = resultFamily(version) ?? '100';
  return fam === '020' ? go020(r as Result020) : go040or100(r as Result040 | Result100, fam);
}

/** The text a reference plugin prints for a result of `version` (4-space indent, no trailing newline). */
export function formatResult(r: VersionedResult, version: string): string {
  return goStringify(resultToGoJson(r, version));
}
