// The portmap plugin's network config: the reference's fields and defaults
// (https://github.com/containernetworking/plugins/blob/main/plugins/meta/portmap/main.go, parseConfig),
// on the nftables backend only, and the host port mappings of runtimeConfig.portMappings.
import { z } from 'zod';
import { goInt } from '../../src/spec/fields.js';
import { parseIp } from '../../src/net/ip.js';
import { CniError, ErrorCode } from '../../src/spec/errors.js';
import { parseConditions } from './conditions.js';

const protocols = ['tcp', 'udp', 'sctp'] as const;

const portMapping = z
  .object({
    hostPort: goInt,
    containerPort: goInt,
    protocol: z.string().optional(),
    hostIP: z.string().optional(),
  })
  .loose();

/** Raw config as written by an admin, with the runtime's portMappings; unknown keys are kept. */
export const portmapConfigSchema = z
  .object({
    name: z.string(),
    snat: z.boolean().default(true),
    masqAll: z.boolean().default(false),
    markMasqBit: goInt.optional(),
    externalSetMarkChain: z.string().optional(),
    conditionsV4: z.array(z.string()).optional(),
    conditionsV6: z.array(z.string()).optional(),
    backend: z.string().optional(),
    runtimeConfig: z
      .object({ portMappings: z.array(portMapping).optional() })
      .loose()
      .optional(),
  })
  .loose()
  .superRefine((c, ctx) => {
    const seen = new Map<string, number>();
    (c.runtimeConfig?.portMappings ?? []).forEach((m, i) => {
      const path = ['runtimeConfig', 'portMappings', i];
      const bad = (field: string, message: string) => ctx.addIssue({ code: 'custom', path: [...path, field], message });
      // The reference refuses ports <= 0; a port above 65535 would be truncated on the wire.
      if (m.hostPort < 1 || m.hostPort > 65535) bad('hostPort', `invalid host port number ${m.hostPort} (must be 1-65535)`);
      if (m.containerPort < 1 || m.containerPort > 65535) {
        bad('containerPort', `invalid container port number ${m.containerPort} (must be 1-65535)`);
      }
      const proto = protocolOf(m.protocol);
      if (!proto) bad('protocol', `unknown protocol ${JSON.stringify(m.protocol)} (must be tcp, udp or sctp)`);
      if (m.hostIP && !parseIp(m.hostIP)) bad('hostIP', `invalid IP ${JSON.stringify(m.hostIP)}`);
      // one host port (on one address) can lead to one pod only
      const key = `${proto}/${m.hostPort}/${m.hostIP ? parseIp(m.hostIP)?.value : ''}`;
      const first = seen.get(key);
      if (first !== undefined) bad('hostPort', `host port ${proto}/${m.hostPort} is mapped twice (also by portMappings[${first}])`);
      else seen.set(key, i);
    });
  });

export type PortmapConfig = z.infer<typeof portmapConfigSchema>;
export type PortMappingConf = z.infer<typeof portMapping>;

/** The protocol of a mapping, lower-cased as the reference does; absent means tcp. */
export function protocolOf(p: string | undefined): (typeof protocols)[number] | undefined {
  const l = (p ?? 'tcp').toLowerCase();
  return protocols.find((x) => x === l);
}

function iptablesOnly(field: string, value: unknown): CniError {
  return new CniError(
    ErrorCode.UnsupportedField,
    `unsupported field ${field}: ${JSON.stringify(value)} (iptables backend only; this portmap implements the nftables backend)`,
  );
}

/**
 * Refuse what only the reference's iptables backend has and conditions outside the grammar we
 * encode; called by every command before anything is touched. Conditions whose first token starts
 * with "-" or "!" are iptables syntax (as the reference tells them apart).
 */
export function checkBackend(c: PortmapConfig): void {
  if (c.backend !== undefined && c.backend !== 'nftables') {
    if (c.backend === 'iptables') throw iptablesOnly('backend', c.backend);
    throw new CniError(ErrorCode.InvalidNetworkConfig, `backend: unknown backend ${JSON.stringify(c.backend)} (must be nftables)`);
  }
  if (c.markMasqBit !== undefined) throw iptablesOnly('markMasqBit', c.markMasqBit);
  if (c.externalSetMarkChain !== undefined) throw iptablesOnly('externalSetMarkChain', c.externalSetMarkChain);
  for (const field of ['conditionsV4', 'conditionsV6'] as const) {
    const conds = c[field];
    if (!conds?.length) continue;
    const first = conds[0]?.trim() ?? '';
    if (first.startsWith('-') || first.startsWith('!')) throw iptablesOnly(field, conds);
    parseConditions(field, conds);
  }
}
