// ADD, DEL and STATUS of the macvlan, ipvlan and vlan plugins, which differ only in the link they
// ask for and where its addresses come from: the link is made on its master straight into the pod
// (one native call), then IPAM (which may need the link: dhcp), then the interface is configured
// (a second native call). As the reference does
// (https://github.com/containernetworking/plugins/blob/main/plugins/main/macvlan/macvlan.go, cmdAdd/cmdDel).
import { ipamAdd, ipamDel, ipamTypeOf, statusViaIpam } from '../ipam/delegate.js';
import { planIface } from '../ipam/iface-plan.js';
import * as native from '../native.js';
import { withRollback } from '../skel/rollback.js';
import type { PluginContext } from '../skel/types.js';
import { CniError, ErrorCode, NativeError } from '../spec/errors.js';
import type { Result } from '../spec/result.js';
import { checkSublink, type SublinkExpectation } from './check.js';

/** Where a plugin's addresses come from when no `ipam.type` is configured. */
export type WithoutIpam =
  /** macvlan: an L2-only link, brought up with no address */
  | 'link-only'
  /** ipvlan: the addresses of prevResult (chained), else an error */
  | 'prev-result'
  /** vlan: IPAM is required */
  | 'required';

export interface SublinkAdd {
  conf: { ipam?: { type?: string | undefined } | undefined; dns?: Result['dns'] | undefined };
  ctx: PluginContext;
  spec: native.SublinkSpec;
  withoutIpam: WithoutIpam;
  /** set arp_notify / ndisc_notify on the link before its addresses (macvlan, ipvlan) */
  notify: boolean;
}

/** What the link's addresses come from, decided before anything is made. */
function addressSource(o: SublinkAdd): { ipamType?: string; prev?: Result } {
  const ipamType = ipamTypeOf(o.conf);
  if (ipamType) return { ipamType };
  if (o.withoutIpam === 'prev-result' && o.ctx.prevResult?.ips?.length) return { prev: o.ctx.prevResult };
  if (o.withoutIpam === 'link-only') return {};
  const what = o.withoutIpam === 'prev-result' ? 'an IPAM plugin (ipam.type) or IP addresses in prevResult' : 'an IPAM plugin (ipam.type)';
  throw new CniError(ErrorCode.InvalidNetworkConfig, `ipam: the interface needs ${what}`);
}

/** ADD: the link, its addresses and routes; undone entirely (IPAM released first) on a failure. */
export async function addSublink(o: SublinkAdd): Promise<Result> {
  const { ctx } = o;
  const source = addressSource(o);
  const podNetns = ctx.paths.local(ctx.netns);
  return withRollback(async (rb) => {
    const made = await native.sublinkAdd({ hostNetns: ctx.hostNetns, podNetns, ifname: ctx.ifname, spec: o.spec });
    rb.push(() => native.sublinkDel(podNetns, ctx.ifname));
    let addressed = source.prev;
    if (source.ipamType) {
      const type = source.ipamType;
      addressed = await ipamAdd(type, ctx);
      rb.push(() => ipamDel(type, ctx));
      if (!addressed.ips?.length) throw new CniError(ErrorCode.Internal, 'IPAM plugin returned missing IP config');
    }
    const result: Result = { interfaces: [{ name: made.link.name, mac: made.link.mac, sandbox: ctx.netns }] };
    // every address is the new link's, the only interface of the result
    const plan = addressed ? planIface(addressed, 0, o.notify) : undefined;
    if (plan) {
      result.ips = plan.ips;
      if (plan.routes.length) result.routes = plan.routes;
    }
    // with addresses, the reference's ConfigureIface; without, the link only brought up
    await native.podIfaceConfigure({ podNetns, ifname: ctx.ifname, iface: plan?.iface });
    // the config's dns, as the reference sets it (IPAM's is not used)
    if (o.conf.dns && Object.keys(o.conf.dns).length) result.dns = o.conf.dns;
    return result;
  }, ctx.log);
}

/** DEL: IPAM first (dhcp needs the link to send its release), then the link; what is gone is fine. */
export async function delSublink(conf: SublinkAdd['conf'], ctx: PluginContext): Promise<void> {
  const type = ipamTypeOf(conf);
  if (type) await ipamDel(type, ctx);
  if (!ctx.netns) return;
  try {
    await native.sublinkDel(ctx.paths.local(ctx.netns), ctx.ifname);
  } catch (e) {
    if (e instanceof NativeError && e.kind === native.FailureKind.NetnsGone) return;
    throw e;
  }
}

/** The config fields the shared handlers read. */
type SublinkConf = SublinkAdd['conf'] & { master: string; mtu: number; linkInContainer: boolean };

/** What makes one sublink plugin: its link kind, its own link fields, its addresses and its CHECK. */
export interface SublinkPluginSpec<C extends SublinkConf> {
  kind: 'macvlan' | 'ipvlan' | 'vlan';
  withoutIpam: WithoutIpam;
  notify: boolean;
  /** the kind's own fields of the link (mode, VLAN id, MAC…) and, when it is not `conf.master`, the master */
  link(conf: C, ctx: PluginContext): Omit<native.SublinkSpec, 'kind' | 'linkInContainer' | 'mtu'>;
  /** what CHECK compares besides the kind, the master and prevResult's addresses */
  expected(conf: C): Pick<SublinkExpectation, 'mode' | 'vlanId' | 'mtu'>;
}

/** The add, del, check and status handlers of a sublink plugin, for definePlugin. */
export function sublinkHandlers<C extends SublinkConf>(p: SublinkPluginSpec<C>) {
  const kind = { macvlan: native.SublinkKind.Macvlan, ipvlan: native.SublinkKind.Ipvlan, vlan: native.SublinkKind.Vlan }[p.kind];
  return {
    add: (conf: C, ctx: PluginContext): Promise<Result> =>
      addSublink({
        conf,
        ctx,
        spec: {
          master: conf.master || undefined,
          ...p.link(conf, ctx),
          kind,
          linkInContainer: conf.linkInContainer,
          mtu: conf.mtu || undefined,
        },
        withoutIpam: p.withoutIpam,
        notify: p.notify,
      }),
    del: (conf: C, ctx: PluginContext): Promise<void> => delSublink(conf, ctx),
    check: (conf: C, ctx: PluginContext): Promise<void> =>
      checkSublink({ conf, ctx, kind: p.kind, master: conf.master, linkInContainer: conf.linkInContainer, ...p.expected(conf) }),
    status: statusViaIpam,
  };
}
