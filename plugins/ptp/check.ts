// CHECK for the ptp plugin: the pod's interface must still be what ADD reported in prevResult, as the
// reference checks it (https://github.com/containernetworking/plugins/blob/main/plugins/main/ptp/ptp.go,
// cmdCheck): a veth of that name and MAC in the namespace, its addresses, a route to each address's
// subnet, and the result's routes.
import { checkIface, failedToMatchRoute, linkOfKind } from '../../src/ipam/check-iface.js';
import { LinkKind } from '../../src/native.js';
import type { PluginContext } from '../../src/skel/types.js';

/** Compare the pod's interface in the kernel with ctx.prevResult, failing with the reference's messages. */
export async function checkAttachment(ctx: PluginContext): Promise<void> {
  await checkIface({
    ctx,
    prefix: 'ptp: ',
    kind: linkOfKind(LinkKind.Veth, 'veth/p2p'),
    subnetRoute: (ip) => `Error: ${ctx.ifname}: Route not found for gateway ${ip.gateway ?? '<nil>'}`,
    route: failedToMatchRoute,
  });
}
