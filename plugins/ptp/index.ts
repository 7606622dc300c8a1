// The ptp plugin: a veth pair with no bridge, the pod routed through its gateway, which sits as a
// /32 (/128) on the pod's host end, like the reference
// (https://github.com/containernetworking/plugins/blob/main/plugins/main/ptp/ptp.go).
// ADD: the veth, IPAM, then one native call that wires both ends; DEL releases IPAM first, then
// deletes the veth.
// Behaviour and differences: ./README.md.
import { definePlugin } from '../../src/skel/define-plugin.js';
import { withRollback } from '../../src/skel/rollback.js';
import type { PluginContext } from '../../src/skel/types.js';
import type { Result } from '../../src/spec/result.js';
import { CniError, ErrorCode, NativeError } from '../../src/spec/errors.js';
import * as native from '../../src/native.js';
import { chooseDns, planIface } from '../../src/ipam/iface-plan.js';
import { delReferenceObjects, gcReferenceObjects } from '../../src/migration/reference.js';
import { gcViaIpam, ipamAdd, ipamCheck, ipamDel, statusViaIpam } from '../../src/ipam/delegate.js';
import { ptpConfigSchema, type PtpConfig } from './config.js';
import { CONTAINER_IFACE_INDEX, gatewayHops } from './plan.js';
import { checkAttachment } from './check.js';

/** Whose masquerade elements this attachment's are, and the destinations their rule exempts. */
function owner(conf: PtpConfig, ctx: PluginContext): native.NftOwner {
  return { network: conf.name, containerId: ctx.containerId, nonMasqueradeCidrs: conf.nonMasqueradeCIDRs };
}

async function add(conf: PtpConfig, ctx: PluginContext): Promise<Result> {
  const type = conf.ipam.type;
  const podNetns = ctx.paths.local(ctx.netns);
  const at = { hostNetns: ctx.hostNetns, podNetns, ifname: ctx.ifname };
  return withRollback(async (rb) => {
    // The link before IPAM: a dhcp IPAM acquires its lease through it (the reference's ptp calls
    // IPAM first, so it cannot work with dhcp).
    const veth = await native.ptpVeth({ ...at, mtu: conf.mtu || undefined });
    rb.push(() => native.linkDel(podNetns, ctx.ifname));
    const ipam = await ipamAdd(type, ctx);
    rb.push(() => ipamDel(type, ctx));
    if (!ipam.ips?.length) throw new CniError(ErrorCode.Internal, 'IPAM plugin returned missing IP config');
    const plan = planIface(ipam, CONTAINER_IFACE_INDEX);
    // the pod side, the host side, forwarding, masquerade (removed again on failure; the rollback
    // then releases IPAM and deletes the veth, in that order)
    const links = await native.ptpWire({
      ...at,
      hostVeth: veth.hostVeth.name,
      iface: plan.iface,
      hops: gatewayHops(plan.ips),
      masquerade: conf.ipMasq ? owner(conf, ctx) : undefined,
    });
    const result: Result = {
      interfaces: [
        { name: links.hostVeth.name, mac: links.hostVeth.mac },
        { name: links.container.name, mac: links.container.mac, sandbox: ctx.netns },
      ],
      ips: plan.ips,
    };
    if (plan.routes.length) result.routes = plan.routes;
    const dns = chooseDns(conf.dns, ipam);
    if (dns) result.dns = dns;
    return result;
  }, ctx.log);
}

/** Delete the pod's veth (with its masquerade elements when asked); whether those went with it. */
async function unwire(ctx: PluginContext, masquerade: native.NftOwner | undefined): Promise<boolean> {
  if (!ctx.netns) return false;
  try {
    // the bridge's unwiring is exactly ptp's: delete the pod's veth, which takes its host end with
    // the gateway address and host route, and the masquerade elements of the addresses it had
    const gone = await native.bridgeDel({
      hostNetns: ctx.hostNetns,
      podNetns: ctx.paths.local(ctx.netns),
      ifname: ctx.ifname,
      namePort: false,
      masquerade,
    });
    return gone.masqueraded;
  } catch (e) {
    // A namespace that is already gone has nothing left to delete; the rest of DEL still runs.
    if (e instanceof NativeError && (e.kind === native.FailureKind.NetnsGone || e.kind === native.FailureKind.NotFound)) return false;
    throw e;
  }
}

async function del(conf: PtpConfig, ctx: PluginContext): Promise<void> {
  // IPAM first, as the reference does: a DHCP IPAM needs the link to send its release.
  await ipamDel(conf.ipam.type, ctx);
  const masquerade = conf.ipMasq ? owner(conf, ctx) : undefined;
  const masqueraded = await unwire(ctx, masquerade);
  if (masquerade && !masqueraded) {
    // Unlike the reference, also when the link or the namespace was gone: without addresses the
    // attachment's elements are found by their comment.
    await native.masqDel({ hostNetns: ctx.hostNetns, ...masquerade, ifname: ctx.ifname, addresses: [] });
  }
  // A pod the reference plugin set up (a node moving to fastcni): its masquerade chain and rules go too.
  if (masquerade) await delReferenceObjects(conf.name, ctx, { masquerade: true });
}

async function check(conf: PtpConfig, ctx: PluginContext): Promise<void> {
  await ipamCheck(conf.ipam.type, ctx);
  await checkAttachment(ctx);
}

async function gc(conf: PtpConfig, ctx: PluginContext): Promise<void> {
  const errors: string[] = [];
  try {
    await gcViaIpam(conf, ctx);
  } catch (e) {
    errors.push(e instanceof Error ? e.message : String(e));
  }
  if (conf.ipMasq) {
    // the elements of attachments that are no longer valid, then the network's sets this leaves empty
    const valid = (ctx.validAttachments ?? []).map((a) => ({ containerId: a.containerID, ifname: a.ifname }));
    try {
      await native.masqGc({ hostNetns: ctx.hostNetns, network: conf.name, valid });
      await gcReferenceObjects(conf.name, ctx, { masquerade: true });
    } catch (e) {
      errors.push(e instanceof Error ? e.message : String(e));
    }
  }
  if (errors.length) throw new CniError(ErrorCode.Internal, `ptp GC: ${errors.join('; ')}`);
}

export const ptp = definePlugin({
  name: 'ptp',
  about: 'fastcni ptp plugin',
  config: ptpConfigSchema,
  add,
  del,
  check,
  gc,
  status: statusViaIpam,
});

export default ptp;
