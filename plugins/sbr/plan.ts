// The sbr plugin's pure decisions: which of prevResult's addresses belong to the interface, and the
// gateway of each one's table, as the reference's getIPCfgs and doRoutes choose them.
import { ipFamily } from '../../src/net/ip.js';
import { CniError, ErrorCode } from '../../src/spec/errors.js';
import type { Result } from '../../src/spec/result.js';
import type { SbrAddress } from '../../src/native.js';

/** sbr works on what an earlier plugin of the chain made: its result is required (ADD and CHECK). */
export function chained(prev: Result | undefined): Result {
  if (!prev) throw new CniError(ErrorCode.InvalidNetworkConfig, 'sbr must be called as a chained plugin: prevResult is missing');
  return prev;
}

/**
 * prevResult's addresses on `ifname`: those without an interface index, or whose index names it
 * (an index out of range counts as a match, as in the reference).
 */
export function interfaceIps(prev: Result, ifname: string): NonNullable<Result['ips']> {
  const interfaces = prev.interfaces ?? [];
  return (prev.ips ?? []).filter((ip) => {
    const i = ip.interface;
    return i === undefined || i < 0 || i >= interfaces.length || interfaces[i]?.name === ifname;
  });
}

/** Each address with the gateway of its table's default route: the configured one of its family, else prevResult's. */
export function sbrAddresses(ips: NonNullable<Result['ips']>, gateways: readonly string[] = []): SbrAddress[] {
  return ips.map((ip) => {
    const family = ipFamily(ip.address);
    const gateway = gateways.find((g) => ipFamily(g) === family) ?? ip.gateway;
    return gateway ? { address: ip.address, gateway } : { address: ip.address };
  });
}
