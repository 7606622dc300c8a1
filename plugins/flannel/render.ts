// The delegate's network config, rendered as flannel's CNI plugin renders it
// (https://github.com/flannel-io/cni-plugin/blob/main/flannel_linux.go, doCmdAdd and getDelegateIPAM;
// flannel.go, cmdAdd): the `delegate` map with name, type (bridge), ipMasq (!FLANNEL_IPMASQ), mtu
// (FLANNEL_MTU), isGateway (bridge only), cniVersion and runtimeConfig, and an ipam (host-local)
// with one range set per leased subnet and a route per flannel network after the configured routes.
// The bytes are what Go's json.Marshal of that map gives: compact, keys sorted, routes in
// types.Route's field order, <, > and & escaped.
import { z } from 'zod';
import { CniError, ErrorCode } from '../../src/spec/errors.js';
import { goStringify, sortKeysDeep } from '../../src/spec/go-json.js';
import { goRoute } from '../../src/spec/result-print.js';
import { routeSchema } from '../../src/spec/result-schemas.js';
import { parseWithSchema } from '../../src/spec/zod-errors.js';
import { cidrText } from '../../src/net/ip.js';
import type { FlannelConfig } from './config.js';
import type { SubnetEnv } from './subnet-env.js';

/** The rendered delegate: its type (to find in CNI_PATH) and the exact bytes it gets on stdin. */
export interface RenderedDelegate {
  type: string;
  bytes: string;
}

type Obj = Record<string, unknown>;

function invalid(path: string, msg: string): CniError {
  return new CniError(ErrorCode.InvalidNetworkConfig, `${path}: ${msg}`);
}

/** The `delegate` map as the user wrote it, checked as the reference checks it (no name, no ipam, a string type). */
function userDelegate(conf: FlannelConfig): Obj {
  const d = conf.delegate ?? {};
  if (Object.hasOwn(d, 'type') && typeof d.type !== 'string') {
    throw invalid('delegate.type', "'delegate' dictionary, if present, must have (string) 'type' field");
  }
  if (d.type === '') throw invalid('delegate.type', 'must not be empty');
  if (Object.hasOwn(d, 'name')) throw invalid('delegate.name', "'delegate' dictionary must not have 'name' field, it'll be set by flannel");
  if (Object.hasOwn(d, 'ipam')) throw invalid('delegate.ipam', "'delegate' dictionary must not have 'ipam' field, it'll be set by flannel");
  return d;
}

/** ipam.routes decoded as []types.Route (the reference's messages, with the field path), then the flannel networks. */
function routes(conf: FlannelConfig, env: SubnetEnv): Obj[] {
  const given = conf.ipam && Object.hasOwn(conf.ipam, 'routes') ? conf.ipam.routes : undefined;
  const parsed = given == null ? [] : parseWithSchema(z.array(routeSchema), given, 'ipam.routes');
  return [...parsed.map(goRoute), ...[...env.networks, ...env.ip6Networks].map((nw) => ({ dst: cidrText(nw) }))];
}

/** Whether `o` has `key` in any case (the delegate reads its config's keys case-insensitively). */
function hasKeyFold(o: Obj, key: string): boolean {
  const k = key.toLowerCase();
  return Object.keys(o).some((x) => x.toLowerCase() === k);
}

/** Render the delegate's config for ADD (and, kept on disk, for DEL). */
export function renderDelegate(conf: FlannelConfig, env: SubnetEnv): RenderedDelegate {
  const d: Obj = { ...userDelegate(conf), name: conf.name };
  if (!Object.hasOwn(d, 'type')) d.type = 'bridge';
  // flanneld does not masquerade: the delegate should
  if (!Object.hasOwn(d, 'ipMasq')) d.ipMasq = !env.ipMasq;
  if (!Object.hasOwn(d, 'mtu')) d.mtu = env.mtu;
  if (d.type === 'bridge' && !Object.hasOwn(d, 'isGateway')) d.isGateway = true;
  // Ours, unlike the reference: traffic to other nodes' pods keeps the pod's address (the
  // Kubernetes network model), so the flannel networks are exempt from the delegate's masquerade.
  if ((d.type === 'bridge' || d.type === 'ptp') && d.ipMasq === true && !hasKeyFold(d, 'nonMasqueradeCIDRs')) {
    const cluster = [...env.networks, ...env.ip6Networks].map(cidrText);
    if (cluster.length) d.nonMasqueradeCIDRs = cluster;
  }
  if (conf.cniVersion) d.cniVersion = conf.cniVersion;
  if (conf.runtimeConfig != null) d.runtimeConfig = conf.runtimeConfig;

  const ipam: Obj = { ...(conf.ipam ?? {}) };
  if (!Object.hasOwn(ipam, 'type')) ipam.type = 'host-local';
  ipam.ranges = [env.subnet, env.ip6Subnet].filter((s) => s !== undefined).map((s) => [{ subnet: cidrText(s) }]);
  ipam.routes = [];
  const out = sortKeysDeep({ ...d, ipam }) as Obj & { ipam: Obj };
  // assigned after sorting: types.Route marshals its fields in struct order, not sorted
  out.ipam.routes = routes(conf, env);
  return { type: d.type as string, bytes: goStringify(out, false) };
}
