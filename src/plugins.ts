// The registry of plugin types fastcni implements, loaded lazily so a process pays only for the one it
// runs. Only the entry points (the CLI, the agent, the library's index) import it and hand
// loadPlugin down; below them nothing in src/ imports plugins/.
import type { Plugin } from './skel/types.js';

const loaders: Record<string, () => Promise<{ default: Plugin<unknown> }>> = {
  bandwidth: () => import('../plugins/bandwidth/index.js'),
  bridge: () => import('../plugins/bridge/index.js'),
  dummy: () => import('../plugins/dummy/index.js'),
  dhcp: () => import('../plugins/dhcp/index.js'),
  firewall: () => import('../plugins/firewall/index.js'),
  flannel: () => import('../plugins/flannel/index.js'),
  'host-device': () => import('../plugins/host-device/index.js'),
  'host-local': () => import('../plugins/host-local/index.js'),
  ipvlan: () => import('../plugins/ipvlan/index.js'),
  loopback: () => import('../plugins/loopback/index.js'),
  macvlan: () => import('../plugins/macvlan/index.js'),
  portmap: () => import('../plugins/portmap/index.js'),
  ptp: () => import('../plugins/ptp/index.js'),
  sbr: () => import('../plugins/sbr/index.js'),
  tap: () => import('../plugins/tap/index.js'),
  static: () => import('../plugins/static/index.js'),
  tuning: () => import('../plugins/tuning/index.js'),
  vrf: () => import('../plugins/vrf/index.js'),
  vlan: () => import('../plugins/vlan/index.js'),
};

/** Names of the plugin types we provide. */
export const pluginTypes: readonly string[] = Object.keys(loaders);

/** Each type's module, once loaded: a resident caller (the agent delegating IPAM) asks per request. */
const loaded = new Map<string, Promise<Plugin<unknown>>>();

/** Load one of our plugins by type, or undefined when the type is not ours. */
export async function loadPlugin(type: string): Promise<Plugin<unknown> | undefined> {
  const load = Object.hasOwn(loaders, type) ? loaders[type] : undefined;
  if (!load) return undefined;
  let p = loaded.get(type);
  if (!p) {
    p = load().then((m) => m.default);
    // a failed load is not remembered: the next call tries again
    p.catch(() => loaded.delete(type));
    loaded.set(type, p);
  }
  return p;
}
