// The bridge plugin: a veth from the pod into a Linux bridge on the host, with optional gateway,
// masquerade and IPAM, behaving like the reference bridge
// (https://github.com/containernetworking/plugins/blob/main/plugins/main/bridge/bridge.go).
import { definePlugin } from '../../src/skel/define-plugin.js';
import { requireNetns } from '../../src/skel/netns-check.js';
import { withRollback, type Rollback } from '../../src/skel/rollback.js';
import type { PluginContext } from '../../src/skel/types.js';
import type { Result } from '../../src/spec/result.js';
import { CniError, ErrorCode, NativeError } from '../../src/spec/errors.js';
import * as native from '../../src/native.js';
import { gcViaIpam, ipamAdd, ipamCheck, ipamDel, ipamTypeOf, statusViaIpam } from '../../src/ipam/delegate.js';
import { bridgeConfigSchema, containerMac, trunkVlans, type BridgeConfig } from './config.js';
import { planL3 } from './plan.js';
import { chooseDns } from '../../src/ipam/iface-plan.js';
import { checkAttachment } from './check.js';
import { delReferenceObjects, gcReferenceObjects } from '../../src/migration/reference.js';

/**
 * IPAM types that release without the pod's link: their DEL overlaps the link's deletion (see del).
 * Every other type's DEL runs first, while the link is still there.
 */
const LINKLESS_IPAM: ReadonlySet<string> = new Set(['host-local', 'static']);

const ipamType = ipamTypeOf;

function masqRequest(conf: BridgeConfig, ctx: PluginContext, addresses: string[]): native.MasqRequest {
  return { hostNetns: ctx.hostNetns, ...masqOwner(conf, ctx), ifname: ctx.ifname, addresses };
}

function spoofKey(conf: BridgeConfig, ctx: PluginContext) {
  return { hostNetns: ctx.hostNetns, network: conf.name, containerId: ctx.containerId, ifname: ctx.ifname };
}

/** Whose nf_tables elements this attachment's are. */
function owner(conf: BridgeConfig, ctx: PluginContext): native.NftOwner {
  return { network: conf.name, containerId: ctx.containerId };
}

/** The owner of masquerade elements, with the destinations their rule exempts. */
function masqOwner(conf: BridgeConfig, ctx: PluginContext): native.NftOwner {
  return { ...owner(conf, ctx), nonMasqueradeCidrs: conf.nonMasqueradeCIDRs };
}

/** IPAM's result (released again on a later failure), and what it makes of the pod's interface. */
async function addressing(type: string | undefined, conf: BridgeConfig, ctx: PluginContext, rb: Rollback) {
  let ipam: Result | undefined;
  if (type) {
    ipam = await ipamAdd(type, ctx);
    rb.push(() => ipamDel(type, ctx));
    if (!ipam.ips?.length) throw new CniError(ErrorCode.Internal, 'IPAM plugin returned missing IP config');
  }
  const plan = ipam ? planL3(conf, ipam) : undefined;
  const l3: native.BridgeL3Request = {
    addresses: plan?.ips.map((i) => i.address) ?? [],
    routes: plan?.nativeRoutes ?? [],
    bridgeAddresses: plan?.bridgeAddresses ?? [],
    forceAddress: conf.forceAddress,
    forwardV4: plan?.forwardV4 ?? false,
    forwardV6: plan?.forwardV6 ?? false,
    masquerade: conf.ipMasq && plan ? masqOwner(conf, ctx) : undefined,
    spoofCheck: conf.macspoofchk ? owner(conf, ctx) : undefined,
  };
  return { ipam, plan, l3 };
}

async function add(conf: BridgeConfig, ctx: PluginContext): Promise<Result> {
  const type = ipamType(conf);
  return withRollback(async (rb) => {
    const trunk = trunkVlans(conf.vlanTrunk);
    const podNetns = ctx.paths.local(ctx.netns);
    const mac = containerMac(conf, ctx.args);
    // IPAM runs beside the native stage: refuse a namespace that is not there before it reserves.
    requireNetns(podNetns, ctx.netns);
    const stage = native.bridgeAddBegin({
      hostNetns: ctx.hostNetns,
      podNetns,
      bridge: conf.bridge,
      mtu: conf.mtu || undefined,
      promisc: conf.promiscMode,
      vlanFiltering: conf.vlan !== 0 || conf.vlanTrunk !== undefined,
      ifname: ctx.ifname,
      mac,
      hairpin: conf.hairpinMode,
      portIsolation: conf.portIsolation,
      vlan: conf.vlan || undefined,
      vlanTrunk: trunk,
      preserveDefaultVlan: conf.preserveDefaultVlan,
      enableDad: conf.enabledad,
      containerUp: !conf.disableContainerInterface,
    });
    // IPAM runs while the native worker does the first stage. Whatever fails before finish() undoes
    // that stage (abort), and like the reference, which makes the veth before it calls IPAM, a
    // failure of the link itself is then the error reported (abort throws it).
    const { ipam, plan, l3 } = await addressing(type, conf, ctx, rb).catch(async (e: unknown) => {
      await stage.abort();
      throw e;
    });
    // One native call wires the pod, masquerades its addresses and guards its port against MAC
    // spoofing; when any of it fails, it undoes all of it (the gateway on a shared bridge included).
    const links = await stage.finish(l3);
    const { addresses, masquerade, spoofCheck } = l3;
    rb.push(() => native.bridgeDel({ hostNetns: ctx.hostNetns, podNetns, ifname: ctx.ifname, namePort: false }));
    if (masquerade) rb.push(() => native.masqDel(masqRequest(conf, ctx, addresses)));
    const port = { hostIfname: links.hostVeth.name, mac: links.container.mac };
    if (spoofCheck) rb.push(() => native.spoofCheckDel({ ...spoofKey(conf, ctx), ...port }));
    const result: Result = {
      interfaces: [
        { name: links.bridge.name, mac: links.bridge.mac },
        { name: links.hostVeth.name, mac: links.hostVeth.mac },
        { name: links.container.name, mac: links.container.mac, sandbox: ctx.netns },
        // the reference appends its `<bridge>.<vlan>` gateway interface (isGateway with vlan)
        ...(links.vlanGateway ? [{ name: links.vlanGateway.name, mac: links.vlanGateway.mac }] : []),
      ],
    };
    if (plan) {
      result.ips = plan.ips;
      if (plan.routes.length) result.routes = plan.routes;
    }
    const dns = chooseDns(conf.dns, ipam ?? {});
    if (dns) result.dns = dns;
    return result;
  }, ctx.log);
}

/** Addresses of the container interface recorded in prevResult, for cleanup when the link is gone. */
function prevAddresses(ctx: PluginContext): string[] {
  const prev = ctx.prevResult;
  if (!prev?.ips) return [];
  const idx = prev.interfaces?.findIndex((i) => i.name === ctx.ifname && i.sandbox);
  return prev.ips.filter((i) => idx === undefined || idx < 0 || i.interface === undefined || i.interface === idx).map((i) => i.address);
}

interface Unwired {
  addresses: string[];
  port: { hostIfname?: string; mac?: string };
  /** the masquerade elements of `addresses` went with the link */
  masqueraded: boolean;
}

/** The pod's link deleted: its addresses, and as asked its port and MAC, read first, and its masquerade elements. */
async function unwire(ctx: PluginContext, o: { namePort: boolean; masquerade?: native.BridgeDelRequest['masquerade'] }): Promise<Unwired> {
  const none: Unwired = { addresses: [], port: {}, masqueraded: false };
  if (!ctx.netns) return none;
  try {
    const gone = await native.bridgeDel({ hostNetns: ctx.hostNetns, podNetns: ctx.paths.local(ctx.netns), ifname: ctx.ifname, ...o });
    const port = gone.hostIfname && gone.mac ? { hostIfname: gone.hostIfname, mac: gone.mac } : {};
    return { addresses: gone.addresses, port, masqueraded: gone.masqueraded };
  } catch (e) {
    // A namespace that is already gone has nothing left to delete; the rest of DEL still runs.
    if (e instanceof NativeError && (e.kind === native.FailureKind.NetnsGone || e.kind === native.FailureKind.NotFound)) return none;
    throw e;
  }
}

async function del(conf: BridgeConfig, ctx: PluginContext): Promise<void> {
  const type = ipamType(conf);
  const masquerade = type && conf.ipMasq ? masqOwner(conf, ctx) : undefined;
  const unwiring = () => unwire(ctx, { namePort: conf.macspoofchk, masquerade });
  let gone: Unwired;
  if (!type || LINKLESS_IPAM.has(type)) {
    // IPAM is released while the kernel tears the veth down (an RCU grace period), and whether or
    // not that succeeds — the reference releases it first; its error, if any, is the one reported.
    // bridgeDel removes the masquerade elements during that wait too, when the link had addresses.
    const [link, released] = await Promise.allSettled([unwiring(), type ? ipamDel(type, ctx) : undefined]);
    if (released.status === 'rejected') throw released.reason;
    if (link.status === 'rejected') throw link.reason;
    gone = link.value;
  } else {
    // Any other IPAM may need the link to release (dhcp sends DHCPRELEASE through it), so, as the
    // reference, IPAM DEL first, and on its failure the link stays for the DEL the runtime retries.
    await ipamDel(type, ctx);
    gone = await unwiring();
  }
  const { addresses, port, masqueraded } = gone;
  // Unlike the reference, also when the netns is gone: the elements live in the host namespace.
  // The deleted link's port and MAC let the elements be deleted by key (no listing of the network's sets).
  if (conf.macspoofchk) await native.spoofCheckDel({ ...spoofKey(conf, ctx), ...port });
  if (masquerade && !masqueraded) {
    // Unlike the reference, clean masquerade even when the link (or the netns) was already gone.
    const known = addresses.length ? addresses : prevAddresses(ctx);
    await native.masqDel(masqRequest(conf, ctx, known));
  }
  // A pod the reference plugin set up (a node moving to fastcni): its chains and rules go too.
  if (masquerade || conf.macspoofchk)
    await delReferenceObjects(conf.name, ctx, { masquerade: Boolean(masquerade), spoofCheck: conf.macspoofchk });
}

async function check(conf: BridgeConfig, ctx: PluginContext): Promise<void> {
  const type = ipamType(conf);
  if (type) await ipamCheck(type, ctx);
  await checkAttachment(conf, ctx);
}

async function gc(conf: BridgeConfig, ctx: PluginContext): Promise<void> {
  const errors: string[] = [];
  try {
    await gcViaIpam(conf, ctx);
  } catch (e) {
    errors.push(e instanceof Error ? e.message : String(e));
  }
  // Each removes the elements of attachments that are no longer valid, then the network's sets
  // (and rules) that this leaves empty.
  const req: native.NftGcRequest = {
    hostNetns: ctx.hostNetns,
    network: conf.name,
    valid: (ctx.validAttachments ?? []).map((a) => ({ containerId: a.containerID, ifname: a.ifname })),
  };
  for (const [wanted, sweep] of [
    [conf.ipMasq, native.masqGc],
    [conf.macspoofchk, native.spoofCheckGc],
    [conf.ipMasq, () => gcReferenceObjects(conf.name, ctx, { masquerade: true })],
  ] as const) {
    if (!wanted) continue;
    try {
      await sweep(req);
    } catch (err) {
      errors.push(err instanceof Error ? err.message : String(err));
    }
  }
  if (errors.length) throw new CniError(ErrorCode.Internal, `bridge GC: ${errors.join('; ')}`);
}

export const bridge = definePlugin({
  name: 'bridge',
  about: 'fastcni bridge plugin',
  config: bridgeConfigSchema,
  add,
  del,
  check,
  gc,
  status: statusViaIpam,
});

export default bridge;
