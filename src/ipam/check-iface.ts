// CHECK of a pod's interface against prevResult, as the reference plugins do it (their cmdCheck with
// pkg/ip ValidateExpectedInterfaceIPs and ValidateExpectedRoute,
// https://github.com/containernetworking/plugins/tree/main/pkg/ip): the interface prevResult lists
// in this pod is there, of the plugin's kind, with its MAC, and prevResult's addresses and routes
// are in place. What differs between plugins — how the link is read, their own checks of it, and
// the wording of some messages, which interop tests compare with the reference's — is a parameter.
import { canonicalCidr, canonicalIp, formatCidr, networkOf, parseCidr } from '../net/ip.js';
import { podInspect, type LinkInfo, type LinkKind, type NativeRoute } from '../native.js';
import type { PluginContext } from '../skel/types.js';
import { CniError, ErrorCode } from '../spec/errors.js';
import type { Result } from '../spec/result.js';

type IpConfig = NonNullable<Result['ips']>[number];
type Route = NonNullable<Result['routes']>[number];

/** The pod's interface as the kernel has it: what CHECK compares. */
export interface SeenIface {
  link: LinkInfo;
  addresses: string[];
  routes: NativeRoute[];
}

/** How one plugin checks its interface; every field but `ctx` is optional. */
export interface IfaceCheck<S extends SeenIface> {
  ctx: PluginContext;
  /**
   * The interface in the pod, or undefined when it is not there (failures of its own are thrown);
   * by default podInspect's view of ctx.ifname.
   */
  read?(): Promise<S | undefined>;
  /** The kind the link must be, and its name in the message; any kind when absent. */
  kind?: { is(seen: S): boolean; name: string };
  /** The plugin's own checks of the link, after its kind and MAC: a message on the first mismatch. */
  link?(seen: S): string | undefined;
  /** A route to each address's subnet must be there (ptp): the message when one is missing. */
  subnetRoute?(ip: IpConfig): string;
  /** prevResult's routes must be there: the message when one is missing; not checked when absent. */
  route?(r: Route): string;
  /** The reference's prefix of its messages about prevResult and the link ("ptp: "). */
  prefix?: string;
}

/** The reference's message for a missing route (most plugins). */
export const failedToMatchRoute = (r: Route): string => `Failed to match route: ${r.dst}${r.gw ? ` via ${r.gw}` : ''}`;

function fail(msg: string): never {
  throw new CniError(ErrorCode.Internal, msg);
}

const sameMac = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();
const sameCidr = (a: string, b: string) => canonicalCidr(a) === canonicalCidr(b);

/** The subnet of an address, e.g. 10.1.0.0/24 for 10.1.0.5/24. */
function subnetOf(address: string): string {
  const c = parseCidr(address);
  return c ? formatCidr(networkOf(c), c.prefix) : address;
}

/** A kind check by podInspect's link kind, named `name` in the message. */
export function linkOfKind(kind: LinkKind, name: string): IfaceCheck<SeenIface>['kind'] {
  return { is: (seen) => seen.link.kind === kind, name };
}

async function readPodIface(ctx: PluginContext): Promise<SeenIface | undefined> {
  const state = await podInspect({ hostNetns: ctx.hostNetns, podNetns: ctx.paths.local(ctx.netns), ifname: ctx.ifname });
  return state.container && { link: state.container, addresses: state.addresses, routes: state.routes };
}

/**
 * CHECK the pod's interface against ctx.prevResult. The addresses compared are those prevResult
 * gives this interface (an `ips` entry naming another interface is that interface's); a route's
 * gateway is compared only when prevResult names one.
 */
export async function checkIface<S extends SeenIface>(c: IfaceCheck<S>): Promise<void> {
  const { ctx, prefix = '' } = c;
  const prev = ctx.prevResult;
  if (!prev) fail(`${prefix}Required prevResult missing`);
  const interfaces = prev.interfaces ?? [];
  const index = interfaces.findIndex((i) => i.name === ctx.ifname && i.sandbox === ctx.netns);
  if (index < 0) fail(`Sandbox in prevResult  doesn't match configured netns: ${ctx.netns}`);
  const listed = interfaces[index]!;
  const seen = c.read ? await c.read() : ((await readPodIface(ctx)) as S | undefined);
  if (!seen) fail(`${prefix}Container Interface name in prevResult: ${ctx.ifname} not found`);
  if (c.kind && !c.kind.is(seen)) fail(`Error: Container interface ${ctx.ifname} not of type ${c.kind.name}`);
  if (listed.mac && !sameMac(listed.mac, seen.link.mac)) {
    fail(`${prefix}Interface ${ctx.ifname} Mac ${listed.mac} doesn't match container Mac: ${seen.link.mac}`);
  }
  const mismatch = c.link?.(seen);
  if (mismatch !== undefined) fail(mismatch);
  const ips = (prev.ips ?? []).filter((ip) => ip.interface === undefined || ip.interface === index);
  for (const ip of ips) {
    if (!seen.addresses.some((a) => sameCidr(a, ip.address))) fail(`Failed to match addr ${ip.address} on interface ${ctx.ifname}`);
  }
  if (c.subnetRoute) {
    for (const ip of ips) if (!seen.routes.some((r) => sameCidr(r.dst, subnetOf(ip.address)))) fail(c.subnetRoute(ip));
  }
  if (!c.route) return;
  for (const r of prev.routes ?? []) {
    const found = seen.routes.some(
      (k) => sameCidr(k.dst, r.dst) && (!r.gw || (k.gw !== undefined && canonicalIp(k.gw) === canonicalIp(r.gw))),
    );
    if (!found) fail(c.route(r));
  }
}
