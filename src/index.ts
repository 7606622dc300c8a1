// fastcni's public library surface: the plugins, the skeleton to write more, the spec types and errors.
export { bandwidth } from '../plugins/bandwidth/index.js';
export { bridge } from '../plugins/bridge/index.js';
export { dummy } from '../plugins/dummy/index.js';
export { hostDevice } from '../plugins/host-device/index.js';
export { dhcp } from '../plugins/dhcp/index.js';
export { hostLocal } from '../plugins/host-local/index.js';
export { loopback } from '../plugins/loopback/index.js';
export { firewall } from '../plugins/firewall/index.js';
export { flannel } from '../plugins/flannel/index.js';
export { portmap } from '../plugins/portmap/index.js';
export { ptp } from '../plugins/ptp/index.js';
export { sbr } from '../plugins/sbr/index.js';
export { tap } from '../plugins/tap/index.js';
export { staticIpam } from '../plugins/static/index.js';
export { tuning } from '../plugins/tuning/index.js';
export { vrf } from '../plugins/vrf/index.js';
export { macvlan } from '../plugins/macvlan/index.js';
export { ipvlan } from '../plugins/ipvlan/index.js';
export { vlan } from '../plugins/vlan/index.js';
export { loadPlugin, pluginTypes } from './plugins.js';
export { pluginDir } from './package-root.js';
export { phaseTotals, type PhaseTotal } from './phases.js';
export { nativePhases } from './native.js';
export { definePlugin, runAsProcess, withRollback } from './skel/index.js';
export type {
  Result,
  Attachment,
  Invocation,
  InvocationOutput,
  PluginContext,
  PluginDefinition,
  Plugin,
  PluginLoader,
  PathView,
  Rollback,
} from './skel/index.js';
export { ErrorCode, CniError, NativeError, toCniError, type NativeFailure } from './spec/errors.js';
export {
  ALL_VERSIONS,
  CURRENT_VERSION,
  convertResult,
  resultForVersion,
  toCurrentResult,
  formatResult,
  netConfSchema,
  confListSchema,
  parseCniArgs,
  type NetConf,
  type ConfList,
} from './spec/index.js';
