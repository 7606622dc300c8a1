// Pure parts of the dhcp plugin: the options to send for one request (values from CNI_ARGS
// included) and the CNI result a lease gives, as the reference's Allocate and Routes() make them
// (https://github.com/containernetworking/plugins/blob/main/plugins/ipam/dhcp/lease.go).
import { CniError, ErrorCode } from '../../src/spec/errors.js';
import type { Result } from '../../src/spec/result.js';
import type { DhcpLease, DhcpOptionValue } from '../../src/native.js';
import type { DhcpConfig } from './config.js';

/** rtnetlink's RT_SCOPE_LINK: option 121's router 0.0.0.0 means the destination is on the link. */
const SCOPE_LINK = 253;

/** CNI_ARGS read as the reference's prepareOptions does: `;`-separated, split at the first `=`, never an error. */
function looseArgs(raw: string | undefined): Map<string, string> {
  const out = new Map<string, string>();
  for (const pair of (raw ?? '').split(';')) {
    const eq = pair.indexOf('=');
    if (eq >= 0) out.set(pair.slice(0, eq), pair.slice(eq + 1));
  }
  return out;
}

/** The options to provide: each fixed value, replaced by its CNI_ARGS value when that key is given. */
export function provideOptions(conf: DhcpConfig, cniArgs: string | undefined): DhcpOptionValue[] {
  const args = looseArgs(cniArgs);
  const byCode = new Map<number, string>();
  conf.provide.forEach((p, i) => {
    if (p.value !== undefined) byCode.set(p.code, p.value);
    const fromArg = p.fromArg === undefined ? undefined : args.get(p.fromArg);
    if (fromArg === undefined) return;
    if (Buffer.byteLength(fromArg) > 255) {
      throw new CniError(
        ErrorCode.InvalidEnvironment,
        `ipam.provide.${i}: value too long for option ${p.code} from CNI_ARGS ${JSON.stringify(p.fromArg)}: more than 255 bytes`,
      );
    }
    byCode.set(p.code, fromArg);
  });
  return [...byCode].map(([code, value]) => ({ code, value: [...Buffer.from(value)] }));
}

/** The result of a lease: one address with the router as gateway; option 121's routes, else option 33's and a default route via the router. */
export function leaseResult(lease: DhcpLease, conf: Pick<DhcpConfig, 'priority'>): Result {
  if (lease.prefixLen === undefined) throw new CniError(ErrorCode.Internal, 'DHCP option Subnet Mask not found in DHCPACK');
  const metric = conf.priority !== undefined ? { priority: conf.priority } : {};
  let routes: NonNullable<Result['routes']>;
  if (lease.classlessRoutes.length > 0) {
    // RFC 3442: with classless routes, the router option and option 33 are ignored.
    routes = lease.classlessRoutes.map((r) => (r.gw ? { dst: r.dst, gw: r.gw, ...metric } : { dst: r.dst, scope: SCOPE_LINK, ...metric }));
  } else {
    routes = lease.staticRoutes.map((r) => ({ dst: r.dst, ...(r.gw ? { gw: r.gw } : {}), ...metric }));
    if (lease.router) routes.push({ dst: '0.0.0.0/0', gw: lease.router, ...metric });
  }
  return {
    ips: [{ address: `${lease.address}/${lease.prefixLen}`, ...(lease.router ? { gateway: lease.router } : {}) }],
    ...(routes.length > 0 ? { routes } : {}),
  };
}
