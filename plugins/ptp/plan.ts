// The ptp plugin's own decision on an IPAM result: every address is routed through its gateway, so
// each needs one (planIface has already refused a gateway of the other family).
import type { PtpAddress } from '../../src/native.js';
import { CniError, ErrorCode } from '../../src/spec/errors.js';
import type { Result } from '../../src/spec/result.js';

/** Index of the container interface in the result's interfaces: [host veth, container]. */
export const CONTAINER_IFACE_INDEX = 1;

type Ip = NonNullable<Result['ips']>[number];

/**
 * Each address with the gateway the pod reaches everything through (a CniError, code 7, naming the
 * result field when one has none: the reference would fail in the kernel, routing the pod through
 * `<nil>/32`).
 */
export function gatewayHops(ips: readonly Ip[]): PtpAddress[] {
  return ips.map((ip, i) => {
    if (!ip.gateway) {
      throw new CniError(
        ErrorCode.InvalidNetworkConfig,
        `IPAM result ips[${i}].gateway: missing for ${ip.address}, ptp routes the pod through it`,
      );
    }
    return { address: ip.address, gateway: ip.gateway };
  });
}
