// The vlan plugin: an 802.1Q link on a master device, made straight into the pod namespace and
// addressed by IPAM, as the reference does
// (https://github.com/containernetworking/plugins/blob/main/plugins/main/vlan/vlan.go).
// Behaviour and differences: ./README.md.
import { definePlugin } from '../../src/skel/define-plugin.js';
import { sublinkHandlers } from '../../src/sublink/attach.js';
import { vlanConfigSchema, type VlanConfig } from './config.js';

export const vlan = definePlugin({
  name: 'vlan',
  about: 'fastcni vlan plugin',
  config: vlanConfigSchema,
  ...sublinkHandlers<VlanConfig>({
    kind: 'vlan',
    withoutIpam: 'required',
    notify: false,
    link: (conf) => ({ vlanId: conf.vlanId }),
    expected: (conf) => ({ vlanId: conf.vlanId, mtu: conf.mtu }),
  }),
});

export default vlan;
