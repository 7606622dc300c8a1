// The vlan plugin: an 802.1Q link on a master device, made straight into the pod namespace and
// addressed by IPAM, as the reference does
// (https://github.com/containernetworking/plugins/blob/main/plugins/main/vlan/vlan.go).
// Behaviour and differences: ./README.md.
import { definePlugin } from '../../src/skel/define-plugin.js';
import type { PluginContext } from '../../src/skel/types.js';
import type { Result } from '../../src/spec/result.js';
import { addSublink, delSublink, statusSublink } from '../../src/sublink/attach.js';
import { checkSublink } from '../../src/sublink/check.js';
import { SublinkKind } from '../../src/native.js';
import { vlanConfigSchema, type VlanConfig } from './config.js';

async function add(conf: VlanConfig, ctx: PluginContext): Promise<Result> {
  return addSublink({
    conf,
    ctx,
    spec: {
      kind: SublinkKind.Vlan,
      master: conf.master,
      linkInContainer: conf.linkInContainer,
      vlanId: conf.vlanId,
      mtu: conf.mtu || undefined,
    },
    withoutIpam: 'required',
    notify: false,
  });
}

async function check(conf: VlanConfig, ctx: PluginContext): Promise<void> {
  await checkSublink({
    conf,
    ctx,
    kind: 'vlan',
    master: conf.master,
    linkInContainer: conf.linkInContainer,
    vlanId: conf.vlanId,
    mtu: conf.mtu,
  });
}

export const vlan = definePlugin({
  name: 'vlan',
  about: 'fastcni vlan plugin',
  config: vlanConfigSchema,
  add,
  del: delSublink,
  check,
  status: statusSublink,
});

export default vlan;
