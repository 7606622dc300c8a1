// CHECK for the bridge plugin: the kernel state must still match what ADD reported in prevResult.
import { CniError, ErrorCode } from '../../src/spec/errors.js';
import type { PluginContext } from '../../src/skel/types.js';
import { LinkKind, podInspect, type NativeRoute } from '../../src/native.js';
import type { BridgeConfig } from './config.js';

function fail(msg: string): never {
  throw new CniError(ErrorCode.Internal, msg);
}

function sameCidr(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

function routeMatches(r: NativeRoute, dst: string, gw: string | undefined): boolean {
  return sameCidr(r.dst, dst) && (gw === undefined || (r.gw ?? '').toLowerCase() === gw.toLowerCase());
}

/** Compare the attachment in the kernel with ctx.prevResult, failing with the reference's messages. */
export async function checkAttachment(conf: BridgeConfig, ctx: PluginContext): Promise<void> {
  const prev = ctx.prevResult;
  if (!prev) fail('Required prevResult missing');
  const ifaces = prev.interfaces ?? [];
  const brIface = ifaces.find((i) => i.name === conf.bridge);
  const contIface = ifaces.find((i) => i.name === ctx.ifname && i.sandbox === ctx.netns);
  const state = await podInspect({
    hostNetns: ctx.hostNetns,
    podNetns: ctx.paths.local(ctx.netns),
    ifname: ctx.ifname,
    bridge: conf.bridge,
  });

  const br = state.bridge;
  if (!brIface || !br) fail(`CNI created bridge ${conf.bridge} in host namespace was not found`);
  if (br.kind !== LinkKind.Bridge) fail(`Interface ${br.name} does not have link type of bridge`);
  if (brIface.mac && brIface.mac !== br.mac) fail(`Bridge interface ${br.name} Mac doesn't match: ${brIface.mac}`);
  if (br.promisc !== conf.promiscMode) {
    fail(`Bridge interface ${br.name} configured Promisc Mode ${conf.promiscMode} doesn't match current state: ${br.promisc} `);
  }

  if (!contIface) fail(`Sandbox in prevResult  doesn't match configured netns: ${ctx.netns}`);
  const cont = state.container;
  if (!cont) fail(`CNI created interface in container ${ctx.ifname} not found`);
  if (cont.kind !== LinkKind.Veth) fail(`Error: Container interface ${cont.name} not of type veth`);
  if (contIface.mac && contIface.mac !== cont.mac)
    fail(`Interface ${cont.name} Mac ${contIface.mac} doesn't match container Mac: ${cont.mac}`);

  const peer = state.hostPeer;
  const peerListed = peer && ifaces.some((i) => i.name === peer.name && !i.sandbox);
  if (!peer || !peerListed || peer.master !== br.name) fail(`CNI veth created for bridge ${conf.bridge} was not found`);
  const peerIface = ifaces.find((i) => i.name === peer.name);
  if (peerIface?.mac && peerIface.mac !== peer.mac) fail(`Interface ${peer.name} Mac doesn't match: ${peerIface.mac} not found`);

  const contIndex = ifaces.indexOf(contIface);
  for (const ip of prev.ips ?? []) {
    if (ip.interface !== undefined && ip.interface !== contIndex) continue;
    if (!state.addresses.some((a) => sameCidr(a, ip.address))) fail(`Failed to match addr ${ip.address} on interface ${ctx.ifname}`);
  }
  for (const r of prev.routes ?? []) {
    if (!state.routes.some((k) => routeMatches(k, r.dst, r.gw))) fail(`Failed to match route: ${r.dst}${r.gw ? ` via ${r.gw}` : ''}`);
  }
}
