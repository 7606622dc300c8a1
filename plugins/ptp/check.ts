// CHECK for the ptp plugin: the pod's interface must still be what ADD reported in prevResult, as the
// reference checks it (https://github.com/containernetworking/plugins/blob/main/plugins/main/ptp/ptp.go,
// cmdCheck): a veth of that name and MAC in the namespace, its addresses, a route to each address's
// subnet, and the result's routes.
import { LinkKind, podInspect, type NativeRoute } from '../../src/native.js';
import { canonicalCidr, formatCidr, networkOf, parseCidr } from '../../src/net/ip.js';
import { CniError, ErrorCode } from '../../src/spec/errors.js';
import type { PluginContext } from '../../src/skel/types.js';

function fail(msg: string): never {
  throw new CniError(ErrorCode.Internal, msg);
}

function sameCidr(a: string, b: string): boolean {
  return canonicalCidr(a) === canonicalCidr(b);
}

/** The subnet of an address, e.g. 10.1.0.0/24 for 10.1.0.5/24. */
function subnetOf(address: string): string {
  const c = parseCidr(address);
  return c ? formatCidr(networkOf(c), c.prefix) : address;
}

function routeMatches(r: NativeRoute, dst: string, gw: string | undefined): boolean {
  return sameCidr(r.dst, dst) && (gw === undefined || (r.gw ?? '').toLowerCase() === gw.toLowerCase());
}

/** Compare the pod's interface in the kernel with ctx.prevResult, failing with the reference's messages. */
export async function checkAttachment(ctx: PluginContext): Promise<void> {
  const prev = ctx.prevResult;
  if (!prev) fail('ptp: Required prevResult missing');
  const ifaces = prev.interfaces ?? [];
  const contIface = ifaces.find((i) => i.name === ctx.ifname && i.sandbox === ctx.netns);
  if (!contIface) fail(`Sandbox in prevResult  doesn't match configured netns: ${ctx.netns}`);
  const state = await podInspect({ hostNetns: ctx.hostNetns, podNetns: ctx.paths.local(ctx.netns), ifname: ctx.ifname });
  const cont = state.container;
  if (!cont) fail(`ptp: Container Interface name in prevResult: ${ctx.ifname} not found`);
  if (cont.kind !== LinkKind.Veth) fail(`Error: Container interface ${cont.name} not of type veth/p2p`);
  if (contIface.mac && contIface.mac !== cont.mac) {
    fail(`ptp: Interface ${cont.name} Mac ${contIface.mac} doesn't match container Mac: ${cont.mac}`);
  }
  const contIndex = ifaces.indexOf(contIface);
  for (const ip of prev.ips ?? []) {
    if (ip.interface !== undefined && ip.interface !== contIndex) continue;
    if (!state.addresses.some((a) => sameCidr(a, ip.address))) fail(`Failed to match addr ${ip.address} on interface ${ctx.ifname}`);
    if (!state.routes.some((r) => sameCidr(r.dst, subnetOf(ip.address)))) {
      fail(`Error: ${ctx.ifname}: Route not found for gateway ${ip.gateway ?? '<nil>'}`);
    }
  }
  for (const r of prev.routes ?? []) {
    if (!state.routes.some((k) => routeMatches(k, r.dst, r.gw))) fail(`Failed to match route: ${r.dst}${r.gw ? ` via ${r.gw}` : ''}`);
  }
}
