// The ipvlan plugin: an ipvlan link on a master device, made straight into the pod namespace; chained
// after another plugin it takes prevResult's interface as master and its addresses when no IPAM is
// configured, as the reference does
// (https://github.com/containernetworking/plugins/blob/main/plugins/main/ipvlan/ipvlan.go).
// Behaviour and differences: ./README.md.
import { definePlugin } from '../../src/skel/define-plugin.js';
import { sublinkHandlers } from '../../src/sublink/attach.js';
import { ipvlanConfigSchema, ipvlanMaster, type IpvlanConfig } from './config.js';

export const ipvlan = definePlugin({
  name: 'ipvlan',
  about: 'fastcni ipvlan plugin',
  config: ipvlanConfigSchema,
  ...sublinkHandlers<IpvlanConfig>({
    kind: 'ipvlan',
    withoutIpam: 'prev-result',
    notify: true,
    link: (conf, ctx) => ({ master: ipvlanMaster(conf, ctx.prevResult) || undefined, mode: conf.mode }),
    // the reference's CHECK reads the configured master only
    expected: (conf) => ({ mode: conf.mode }),
  }),
});

export default ipvlan;
