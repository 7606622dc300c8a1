// DEL and CHECK of a pod interface that a plugin made inside the pod namespace and configured from
// an optional IPAM result (tap, dummy), as the reference does them (containernetworking/plugins
// plugins/main/{tap,dummy}, pkg/ip ValidateExpectedInterfaceIPs and ValidateExpectedRoute).
import type { PluginContext } from '../skel/types.js';
import { CniError, ErrorCode, NativeError } from '../spec/errors.js';
import { FailureKind, linkDel, podInspect, type LinkKind, type NativeRoute } from '../native.js';
import { ipamDel } from './delegate.js';

/**
 * DEL: IPAM first (the dhcp IPAM sends its release through the link), then the link; a namespace
 * or link that is already gone is success.
 */
export async function delPodIface(ipamType: string | undefined, ctx: PluginContext): Promise<void> {
  if (ipamType) await ipamDel(ipamType, ctx);
  if (!ctx.netns) return;
  try {
    await linkDel(ctx.paths.local(ctx.netns), ctx.ifname);
  } catch (e) {
    if (e instanceof NativeError && e.kind === FailureKind.NetnsGone) return;
    throw e;
  }
}

function fail(msg: string): never {
  throw new CniError(ErrorCode.Internal, msg);
}

const same = (a: string | undefined, b: string | undefined) => (a ?? '').toLowerCase() === (b ?? '').toLowerCase();

/** What the interface must be besides what prevResult says. */
export interface IfaceExpectation {
  kind: LinkKind;
  /** the kind as the messages name it ("tap", "dummy") */
  kindName: string;
  /** the link must be up (dummy's CHECK) */
  up?: boolean;
  /** prevResult's routes must be in the pod's main table through the interface (tap's CHECK) */
  routes?: boolean;
}

/** CHECK the pod's interface against ctx.prevResult. */
export async function checkPodIface(ctx: PluginContext, want: IfaceExpectation): Promise<void> {
  const prev = ctx.prevResult;
  if (!prev) fail('Required prevResult missing');
  const interfaces = prev.interfaces ?? [];
  const index = interfaces.findIndex((i) => i.name === ctx.ifname && i.sandbox === ctx.netns);
  if (index < 0) fail(`Sandbox in prevResult  doesn't match configured netns: ${ctx.netns}`);
  const listed = interfaces[index]!;
  const state = await podInspect({ hostNetns: ctx.hostNetns, podNetns: ctx.paths.local(ctx.netns), ifname: ctx.ifname });
  const link = state.container;
  if (!link) fail(`Container Interface name in prevResult: ${ctx.ifname} not found`);
  if (link.kind !== want.kind) fail(`Error: Container interface ${link.name} not of type ${want.kindName}`);
  if (listed.mac && !same(listed.mac, link.mac)) fail(`Interface ${link.name} Mac ${listed.mac} doesn't match container Mac: ${link.mac}`);
  if (want.up && !link.up) fail(`Interface ${link.name} is down`);
  for (const ip of prev.ips ?? []) {
    if (ip.interface !== undefined && ip.interface !== index) continue;
    if (!state.addresses.some((a) => same(a, ip.address))) fail(`Failed to match addr ${ip.address} on interface ${ctx.ifname}`);
  }
  if (!want.routes) return;
  const has = (dst: string, gw: string | undefined) => (r: NativeRoute) => same(r.dst, dst) && (gw === undefined || same(r.gw, gw));
  for (const r of prev.routes ?? []) {
    if (!state.routes.some(has(r.dst, r.gw))) fail(`Failed to match route: ${r.dst}${r.gw ? ` via ${r.gw}` : ''}`);
  }
}
