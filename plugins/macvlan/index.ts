// The macvlan plugin: a macvlan link on a master device, made straight into the pod namespace, with
// or without IPAM, as the reference does
// (https://github.com/containernetworking/plugins/blob/main/plugins/main/macvlan/macvlan.go).
// Behaviour and differences: ./README.md.
import { definePlugin } from '../../src/skel/define-plugin.js';
import type { PluginContext } from '../../src/skel/types.js';
import type { Result } from '../../src/spec/result.js';
import { addSublink, delSublink, statusSublink } from '../../src/sublink/attach.js';
import { checkSublink } from '../../src/sublink/check.js';
import { sublinkMac } from '../../src/sublink/config.js';
import { SublinkKind } from '../../src/native.js';
import { macvlanConfigSchema, type MacvlanConfig } from './config.js';

async function add(conf: MacvlanConfig, ctx: PluginContext): Promise<Result> {
  const mac = sublinkMac({ mac: conf.mac, runtimeMac: conf.runtimeConfig?.mac, args: ctx.args });
  return addSublink({
    conf,
    ctx,
    spec: {
      kind: SublinkKind.Macvlan,
      master: conf.master || undefined,
      linkInContainer: conf.linkInContainer,
      mode: conf.mode,
      mtu: conf.mtu || undefined,
      mac,
      bcQueueLen: conf.bcqueuelen || undefined,
    },
    withoutIpam: 'link-only',
    notify: true,
  });
}

async function check(conf: MacvlanConfig, ctx: PluginContext): Promise<void> {
  await checkSublink({ conf, ctx, kind: 'macvlan', master: conf.master, linkInContainer: conf.linkInContainer, mode: conf.mode });
}

export const macvlan = definePlugin({
  name: 'macvlan',
  about: 'fastcni macvlan plugin',
  config: macvlanConfigSchema,
  add,
  del: delSublink,
  check,
  status: statusSublink,
});

export default macvlan;
