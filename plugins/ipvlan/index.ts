// The ipvlan plugin: an ipvlan link on a master device, made straight into the pod namespace; chained
// after another plugin it takes prevResult's interface as master and its addresses when no IPAM is
// configured, as the reference does
// (https://github.com/containernetworking/plugins/blob/main/plugins/main/ipvlan/ipvlan.go).
// Behaviour and differences: ./README.md.
import { definePlugin } from '../../src/skel/define-plugin.js';
import type { PluginContext } from '../../src/skel/types.js';
import type { Result } from '../../src/spec/result.js';
import { addSublink, delSublink, statusSublink } from '../../src/sublink/attach.js';
import { checkSublink } from '../../src/sublink/check.js';
import { SublinkKind } from '../../src/native.js';
import { ipvlanConfigSchema, ipvlanMaster, type IpvlanConfig } from './config.js';

async function add(conf: IpvlanConfig, ctx: PluginContext): Promise<Result> {
  return addSublink({
    conf,
    ctx,
    spec: {
      kind: SublinkKind.Ipvlan,
      master: ipvlanMaster(conf, ctx.prevResult) || undefined,
      linkInContainer: conf.linkInContainer,
      mode: conf.mode,
      mtu: conf.mtu || undefined,
    },
    withoutIpam: 'prev-result',
    notify: true,
  });
}

async function check(conf: IpvlanConfig, ctx: PluginContext): Promise<void> {
  // the reference's CHECK reads the configured master only (prevResult is the ipvlan's own result there)
  await checkSublink({ conf, ctx, kind: 'ipvlan', master: conf.master, linkInContainer: conf.linkInContainer, mode: conf.mode });
}

export const ipvlan = definePlugin({
  name: 'ipvlan',
  about: 'fastcni ipvlan plugin',
  config: ipvlanConfigSchema,
  add,
  del: delSublink,
  check,
  status: statusSublink,
});

export default ipvlan;
