// Pure planning for portmap: the pod's addresses from prevResult and the native request.
import type { Result } from '../../src/spec/result.js';
import { formatIp, parseCidr } from '../../src/net/ip.js';
import type { PortmapRequest } from '../../src/native.js';
import { protocolOf, type PortmapConfig } from './config.js';
import { parseConditions } from './conditions.js';

/**
 * The container address per family, as the reference picks it: the first `ips` entry of each
 * family, skipping entries whose interface is known and is not `ifname` inside a sandbox.
 */
export function containerIps(prev: Result, ifname: string): string[] {
  const found = new Map<4 | 6, string>();
  const ifaces = prev.interfaces ?? [];
  for (const ip of prev.ips ?? []) {
    const cidr = parseCidr(ip.address);
    if (!cidr || found.has(cidr.ip.family)) continue;
    const idx = ip.interface;
    if (idx !== undefined && idx >= 0 && idx < ifaces.length && (ifaces[idx]?.name !== ifname || !ifaces[idx]?.sandbox)) continue;
    found.set(cidr.ip.family, formatIp(cidr.ip));
  }
  return [...found.values()];
}

/** Who owns the elements: one attachment of one network. */
export interface Owner {
  hostNetns?: string;
  network: string;
  containerId: string;
  ifname: string;
}

/** The native request for an attachment (ADD, CHECK and DEL), with the network's conditions parsed. */
export function addRequest(conf: PortmapConfig, owner: Owner, containerIps: string[]): PortmapRequest {
  return {
    ...owner,
    containerIps,
    mappings: (conf.runtimeConfig?.portMappings ?? []).map((m) => ({
      hostPort: m.hostPort,
      containerPort: m.containerPort,
      protocol: protocolOf(m.protocol) ?? 'tcp',
      hostIp: m.hostIP || undefined,
    })),
    snat: conf.snat,
    masqAll: conf.masqAll,
    conditionsV4: parseConditions('conditionsV4', conf.conditionsV4),
    conditionsV6: parseConditions('conditionsV6', conf.conditionsV6),
  };
}
