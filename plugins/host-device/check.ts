// host-device's CHECK, as the reference's cmdCheck: the interface prevResult names in this pod is
// there with its MAC, and the result's addresses and routes are on it (pkg/ip
// ValidateExpectedInterfaceIPs / ValidateExpectedRoute).
import type { PluginContext } from '../../src/skel/types.js';
import type { Result } from '../../src/spec/result.js';
import { CniError, ErrorCode } from '../../src/spec/errors.js';
import { canonicalCidr, canonicalIp } from '../../src/net/ip.js';
import { podInspect } from '../../src/native.js';

function fail(msg: string): never {
  throw new CniError(ErrorCode.Internal, msg);
}

/** Compare the pod's interface with prevResult, failing with the reference's messages. */
export async function checkDevice(prev: Result, ctx: PluginContext): Promise<void> {
  const expected = prev.interfaces?.find((i) => i.name === ctx.ifname && i.sandbox === ctx.netns);
  if (!expected) fail(`Sandbox in prevResult  doesn't match configured netns: ${ctx.netns}`);
  const state = await podInspect({ hostNetns: ctx.hostNetns, podNetns: ctx.paths.local(ctx.netns), ifname: ctx.ifname });
  const link = state.container;
  if (!link) fail(`Container Interface name in prevResult: ${expected.name} not found`);
  if (expected.mac && expected.mac !== link.mac)
    fail(`Interface ${expected.name} Mac ${expected.mac} doesn't match container Mac: ${link.mac}`);
  const have = new Set(state.addresses.map(canonicalCidr));
  for (const ip of prev.ips ?? []) {
    if (!have.has(canonicalCidr(ip.address))) fail(`Failed to match addr ${ip.address} on interface ${ctx.ifname}`);
  }
  for (const r of prev.routes ?? []) {
    const found = state.routes.some(
      (k) =>
        canonicalCidr(k.dst) === canonicalCidr(r.dst) &&
        (r.gw === undefined || (k.gw !== undefined && canonicalIp(k.gw) === canonicalIp(r.gw))),
    );
    if (!found) fail(`Expected Route ${r.dst}${r.gw ? ` via ${r.gw}` : ''} not found in routing table`);
  }
}
