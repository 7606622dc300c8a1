// CHECK of the macvlan, ipvlan and vlan plugins: the link prevResult reports must be in the pod with
// the configured kind and settings, its master found, and prevResult's addresses and routes in
// place — the reference's cmdCheck and validateCniContainerInterface
// (https://github.com/containernetworking/plugins/blob/main/plugins/main/macvlan/macvlan.go).
import { checkIface, failedToMatchRoute } from '../ipam/check-iface.js';
import { ipamCheck, ipamTypeOf } from '../ipam/delegate.js';
import * as native from '../native.js';
import type { PluginContext } from '../skel/types.js';
import { CniError, ErrorCode } from '../spec/errors.js';

export interface SublinkExpectation {
  conf: { ipam?: { type?: string | undefined } | undefined };
  ctx: PluginContext;
  kind: 'macvlan' | 'ipvlan' | 'vlan';
  /** the master's name as ADD chose it ('' = the default route's interface) */
  master: string;
  linkInContainer: boolean;
  /** macvlan / ipvlan: the configured mode */
  mode?: string;
  /** vlan: the configured id, and the MTU when one is configured */
  vlanId?: number;
  mtu?: number;
}

const KIND_LABEL = { macvlan: 'macvlan', ipvlan: 'IPVlan', vlan: 'vlan' } as const;

/** CHECK: IPAM's CHECK first, then the link, its master and prevResult's addresses and routes. */
export async function checkSublink(e: SublinkExpectation): Promise<void> {
  const { ctx } = e;
  const type = ipamTypeOf(e.conf);
  if (type) await ipamCheck(type, ctx);
  await checkIface<native.SublinkState>({
    ctx,
    read: async () => {
      const seen = await native.sublinkInspect({
        hostNetns: ctx.hostNetns,
        podNetns: ctx.paths.local(ctx.netns),
        ifname: ctx.ifname,
        master: e.master || undefined,
        linkInContainer: e.linkInContainer,
      });
      if (!seen.master) throw new CniError(ErrorCode.Internal, `failed to lookup master ${JSON.stringify(e.master)}: Link not found`);
      return seen.state;
    },
    kind: { is: (seen) => seen.kindName === e.kind, name: e.kind },
    link: (seen) => {
      if (e.mode !== undefined && seen.mode !== e.mode) {
        return `Container ${KIND_LABEL[e.kind]} mode ${seen.mode} does not match expected value: ${e.mode}`;
      }
      if (e.vlanId !== undefined && seen.vlanId !== e.vlanId)
        return `Container vlan id of ${ctx.ifname} is ${seen.vlanId}, configured: ${e.vlanId}`;
      if (e.mtu && seen.link.mtu !== e.mtu) return `Configured MTU of ${ctx.ifname} is ${e.mtu}, current value is ${seen.link.mtu}`;
      return undefined;
    },
    route: failedToMatchRoute,
  });
}
