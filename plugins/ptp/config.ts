// The ptp plugin's network config: the reference's fields and defaults
// (https://github.com/containernetworking/plugins/blob/main/plugins/main/ptp/ptp.go, NetConf).
import { z } from 'zod';
import { dnsSchema } from '../../src/spec/net-conf.js';

/** Raw config as written by an admin; unknown keys are kept (other plugins of a chain may own them). */
export const ptpConfigSchema = z
  .object({
    name: z.string(),
    ipMasq: z.boolean().default(false),
    // Accepted as the bridge accepts it, and ignored: masquerade is always our nf_tables sets.
    ipMasqBackend: z.enum(['iptables', 'nftables']).optional(),
    mtu: z.number().int().min(0).max(65535).default(0),
    // ptp has no L2-only mode: the pod is routed through its IPAM gateway.
    ipam: z.object({ type: z.string().min(1, 'the IPAM plugin type is required') }, 'required: ptp needs an IPAM plugin').loose(),
    dns: dnsSchema.optional(),
  })
  .loose();

export type PtpConfig = z.infer<typeof ptpConfigSchema>;
