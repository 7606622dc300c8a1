// The dummy plugin: a dummy link as the pod's interface, addressed by IPAM, like the reference
// (https://github.com/containernetworking/plugins/blob/main/plugins/main/dummy/dummy.go): one
// native call makes the link inside the pod's namespace before IPAM, a second addresses it after.
// Behaviour and differences: ./README.md.
import { z } from 'zod';
import { definePlugin } from '../../src/skel/define-plugin.js';
import { withRollback } from '../../src/skel/rollback.js';
import type { PluginContext } from '../../src/skel/types.js';
import type { Result } from '../../src/spec/result.js';
import { CniError, ErrorCode } from '../../src/spec/errors.js';
import { dummyAdd, LinkKind, linkDel, podIfaceConfigure } from '../../src/native.js';
import { gcViaIpam, ipamAdd, ipamCheck, ipamDel, statusViaIpam } from '../../src/ipam/delegate.js';
import { planIface } from '../../src/ipam/iface-plan.js';
import { checkIface, linkOfKind } from '../../src/ipam/check-iface.js';
import { delPodIface } from '../../src/ipam/pod-iface.js';

/** No fields of its own; an `ipam` with a type is required, as in the reference. */
export const dummyConfigSchema = z
  .object({ ipam: z.object({ type: z.string().optional() }).loose().optional() })
  .loose()
  .superRefine((c, ctx) => {
    if (!c.ipam?.type) ctx.addIssue({ code: 'custom', path: ['ipam'], message: 'dummy interface requires an IPAM configuration' });
  });

type DummyConfig = z.infer<typeof dummyConfigSchema>;

/** The IPAM type; the schema made sure there is one. */
const ipamType = (conf: DummyConfig) => conf.ipam?.type ?? '';

async function add(conf: DummyConfig, ctx: PluginContext): Promise<Result> {
  const type = ipamType(conf);
  const podNetns = ctx.paths.local(ctx.netns);
  return withRollback(async (rb) => {
    const link = await dummyAdd({ netns: podNetns, ifname: ctx.ifname });
    rb.push(() => linkDel(podNetns, ctx.ifname));
    const ipam = await ipamAdd(type, ctx);
    rb.push(() => ipamDel(type, ctx));
    if (!ipam.ips?.length) throw new CniError(ErrorCode.Internal, 'IPAM plugin returned missing IP config');
    const plan = planIface(ipam, 0);
    await podIfaceConfigure({ podNetns, ifname: ctx.ifname, iface: plan.iface });
    // the reference returns IPAM's result (its DNS included) with the dummy as interface 0
    const result: Result = { interfaces: [{ name: link.name, mac: link.mac, sandbox: ctx.netns }], ips: plan.ips };
    if (plan.routes.length) result.routes = plan.routes;
    if (ipam.dns) result.dns = ipam.dns;
    return result;
  }, ctx.log);
}

async function del(conf: DummyConfig, ctx: PluginContext): Promise<void> {
  await delPodIface(ipamType(conf), ctx);
}

async function check(conf: DummyConfig, ctx: PluginContext): Promise<void> {
  await ipamCheck(ipamType(conf), ctx);
  await checkIface({
    ctx,
    kind: linkOfKind(LinkKind.Dummy, 'dummy'),
    link: (seen) => (seen.link.up ? undefined : `Interface ${ctx.ifname} is down`),
  });
}

export const dummy = definePlugin({
  name: 'dummy',
  about: 'fastcni dummy plugin',
  config: dummyConfigSchema,
  add,
  del,
  check,
  gc: gcViaIpam,
  status: statusViaIpam,
});

export default dummy;
