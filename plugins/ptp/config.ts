// The ptp plugin's network config: the reference's fields and defaults
// (https://github.com/containernetworking/plugins/blob/main/plugins/main/ptp/ptp.go, NetConf).
import { z } from 'zod';
import { nonMasqueradeCidrs } from '../../src/spec/fields.js';
import { dnsSchema } from '../../src/spec/net-conf.js';

/** Raw config as written by an admin; unknown keys are kept (other plugins of a chain may own them). */
export const ptpConfigSchema = z
  .object({
    name: z.string(),
    ipMasq: z.boolean().default(false),
    // Accepted as the bridge accepts it, and ignored: masquerade is always our nf_tables sets.
    ipMasqBackend: z.enum(['iptables', 'nftables']).optional(),
    // ours (the reference has no such field): with ipMasq, destinations not masqueraded
    nonMasqueradeCIDRs: nonMasqueradeCidrs.optional(),
    // 0 = the kernel's default; a veth takes 68 (the IPv4 minimum) to 65535
    mtu: z
      .number()
      .int()
      .max(65535)
      .refine((m) => m === 0 || m >= 68, 'must be 0 (the kernel default) or 68 to 65535')
      .default(0),
    // ptp has no L2-only mode: the pod is routed through its IPAM gateway.
    ipam: z.object({ type: z.string().min(1, 'the IPAM plugin type is required') }, 'required: ptp needs an IPAM plugin').loose(),
    dns: dnsSchema.optional(),
  })
  .loose();

export type PtpConfig = z.infer<typeof ptpConfigSchema>;
