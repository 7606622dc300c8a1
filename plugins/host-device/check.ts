// host-device's CHECK, as the reference's cmdCheck: the interface prevResult names in this pod is
// there with its MAC (of any kind), and the result's addresses and routes are on it.
import { checkIface } from '../../src/ipam/check-iface.js';
import type { PluginContext } from '../../src/skel/types.js';

/** Compare the pod's interface with prevResult, failing with the reference's messages. */
export async function checkDevice(ctx: PluginContext): Promise<void> {
  await checkIface({ ctx, route: (r) => `Expected Route ${r.dst}${r.gw ? ` via ${r.gw}` : ''} not found in routing table` });
}
