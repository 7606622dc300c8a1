// CHECK of the macvlan, ipvlan and vlan plugins: the link prevResult reports must be in the pod with
// the configured kind and settings, its master found, and prevResult's addresses and routes in
// place — the reference's cmdCheck and validateCniContainerInterface
// (https://github.com/containernetworking/plugins/blob/main/plugins/main/macvlan/macvlan.go).
import { ipamCheck, ipamTypeOf } from '../ipam/delegate.js';
import { canonicalCidr, canonicalIp } from '../net/ip.js';
import * as native from '../native.js';
import type { PluginContext } from '../skel/types.js';
import { CniError, ErrorCode } from '../spec/errors.js';

function fail(msg: string): never {
  throw new CniError(ErrorCode.Internal, msg);
}

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
  const prev = ctx.prevResult;
  if (!prev) fail('Required prevResult missing');
  const iface = (prev.interfaces ?? []).find((i) => i.name === ctx.ifname && i.sandbox === ctx.netns);
  if (!iface) fail(`Sandbox in prevResult  doesn't match configured netns: ${ctx.netns}`);
  const seen = await native.sublinkInspect({
    hostNetns: ctx.hostNetns,
    podNetns: ctx.paths.local(ctx.netns),
    ifname: ctx.ifname,
    master: e.master || undefined,
    linkInContainer: e.linkInContainer,
  });
  if (!seen.master) fail(`failed to lookup master ${JSON.stringify(e.master)}: Link not found`);
  const state = seen.state;
  if (!state) fail(`Container Interface name in prevResult: ${ctx.ifname} not found`);
  if (state.kindName !== e.kind) fail(`Error: Container interface ${ctx.ifname} not of type ${e.kind}`);
  if (e.mode !== undefined && state.mode !== e.mode) {
    fail(`Container ${KIND_LABEL[e.kind]} mode ${state.mode} does not match expected value: ${e.mode}`);
  }
  if (iface.mac && iface.mac !== state.link.mac)
    fail(`Interface ${ctx.ifname} Mac ${iface.mac} doesn't match container Mac: ${state.link.mac}`);
  if (e.vlanId !== undefined && state.vlanId !== e.vlanId) {
    fail(`Container vlan id of ${ctx.ifname} is ${state.vlanId}, configured: ${e.vlanId}`);
  }
  if (e.mtu && state.link.mtu !== e.mtu) fail(`Configured MTU of ${ctx.ifname} is ${e.mtu}, current value is ${state.link.mtu}`);
  const have = new Set(state.addresses.map(canonicalCidr));
  for (const ip of prev.ips ?? []) {
    if (!have.has(canonicalCidr(ip.address))) fail(`Failed to match addr ${ip.address} on interface ${ctx.ifname}`);
  }
  for (const r of prev.routes ?? []) {
    const found = state.routes.some(
      (k) => canonicalCidr(k.dst) === canonicalCidr(r.dst) && (!r.gw || (k.gw !== undefined && canonicalIp(k.gw) === canonicalIp(r.gw))),
    );
    if (!found) fail(`Failed to match route: ${r.dst}${r.gw ? ` via ${r.gw}` : ''}`);
  }
}
