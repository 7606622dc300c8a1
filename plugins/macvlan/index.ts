// The macvlan plugin: a macvlan link on a master device, made straight into the pod namespace, with
// or without IPAM, as the reference does
// (https://github.com/containernetworking/plugins/blob/main/plugins/main/macvlan/macvlan.go).
// Behaviour and differences: ./README.md.
import { definePlugin } from '../../src/skel/define-plugin.js';
import { sublinkHandlers } from '../../src/sublink/attach.js';
import { sublinkMac } from '../../src/sublink/config.js';
import { macvlanConfigSchema, type MacvlanConfig } from './config.js';

export const macvlan = definePlugin({
  name: 'macvlan',
  about: 'fastcni macvlan plugin',
  config: macvlanConfigSchema,
  ...sublinkHandlers<MacvlanConfig>({
    kind: 'macvlan',
    // without IPAM: an L2-only link, brought up
    withoutIpam: 'link-only',
    notify: true,
    link: (conf, ctx) => ({
      mode: conf.mode,
      mac: sublinkMac({ mac: conf.mac, runtimeMac: conf.runtimeConfig?.mac, args: ctx.args }),
      bcQueueLen: conf.bcqueuelen || undefined,
    }),
    expected: (conf) => ({ mode: conf.mode }),
  }),
});

export default macvlan;
