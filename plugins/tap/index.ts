// The tap plugin: a persistent tap device as the pod's interface, optionally in a bridge of the pod's
// namespace and addressed by IPAM, like the reference
// (https://github.com/containernetworking/plugins/blob/main/plugins/main/tap/tap.go) but without
// ever running `ip tuntap`: the device is made through /dev/net/tun by one native call before IPAM
// (a dhcp IPAM leases on it), and addressed by a second after it.
// Behaviour and differences: ./README.md.
import { definePlugin } from '../../src/skel/define-plugin.js';
import { withRollback } from '../../src/skel/rollback.js';
import type { PluginContext } from '../../src/skel/types.js';
import type { Result } from '../../src/spec/result.js';
import { CniError, ErrorCode } from '../../src/spec/errors.js';
import { LinkKind, linkDel, podIfaceConfigure, tapAdd } from '../../src/native.js';
import { gcViaIpam, ipamAdd, ipamCheck, ipamDel, ipamTypeOf, statusViaIpam } from '../../src/ipam/delegate.js';
import { planIface } from '../../src/ipam/iface-plan.js';
import { checkIface, failedToMatchRoute, linkOfKind } from '../../src/ipam/check-iface.js';
import { delPodIface } from '../../src/ipam/pod-iface.js';
import { refuseSelinuxContext, tapConfigSchema, tapMac, type TapConfig } from './config.js';

const ipamType = ipamTypeOf;

async function add(conf: TapConfig, ctx: PluginContext): Promise<Result> {
  refuseSelinuxContext(conf);
  const mac = tapMac(conf, ctx.args);
  const type = ipamType(conf);
  const podNetns = ctx.paths.local(ctx.netns);
  return withRollback(async (rb) => {
    const tap = await tapAdd({
      netns: podNetns,
      ifname: ctx.ifname,
      mac,
      mtu: conf.mtu || undefined,
      multiQueue: conf.multiQueue,
      owner: conf.owner,
      group: conf.group,
      bridge: conf.bridge || undefined,
    });
    rb.push(() => linkDel(podNetns, ctx.ifname));
    const result: Result = { interfaces: [{ name: tap.name, mac: tap.mac, sandbox: ctx.netns }] };
    if (type) {
      const ipam = await ipamAdd(type, ctx);
      rb.push(() => ipamDel(type, ctx));
      if (!ipam.ips?.length) throw new CniError(ErrorCode.Internal, 'IPAM plugin returned missing IP config');
      // every address goes on the tap (interface 0), announced: arp_notify as the reference sets it
      const plan = planIface(ipam, 0, true);
      await podIfaceConfigure({ podNetns, ifname: ctx.ifname, iface: plan.iface });
      result.ips = plan.ips;
      if (plan.routes.length) result.routes = plan.routes;
    }
    // the reference reports the config's DNS only, not IPAM's
    if (conf.dns) result.dns = conf.dns;
    return result;
  }, ctx.log);
}

async function del(conf: TapConfig, ctx: PluginContext): Promise<void> {
  await delPodIface(ipamType(conf), ctx);
}

async function check(conf: TapConfig, ctx: PluginContext): Promise<void> {
  const type = ipamType(conf);
  if (type) await ipamCheck(type, ctx);
  await checkIface({ ctx, kind: linkOfKind(LinkKind.Tun, 'tap'), route: failedToMatchRoute });
}

export const tap = definePlugin({
  name: 'tap',
  about: 'fastcni tap plugin',
  config: tapConfigSchema,
  add,
  del,
  check,
  gc: gcViaIpam,
  status: statusViaIpam,
});

export default tap;
