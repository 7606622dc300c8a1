// The firewall plugin's network config: the reference's fields and defaults
// (https://github.com/containernetworking/plugins/blob/main/plugins/meta/firewall/firewall.go, FirewallNetConf).
import { z } from 'zod';

/** Chains of our own table that an admin chain may not be named after (see the Rust module's OWN_CHAINS). */
const OWN_CHAINS = ['forward', 'isolation', 'admin'];

/** Raw config as written by an admin; unknown keys are kept (other plugins of a chain may own them). */
export const firewallConfigSchema = z
  .object({
    name: z.string(),
    // "" is the reference's "not set": pick by whether firewalld is on the bus
    backend: z.enum(['', 'iptables', 'firewalld']).default(''),
    iptablesAdminChainName: z
      .string()
      .max(255)
      .default('')
      .transform((s) => s || 'CNI-ADMIN')
      .refine((s) => !OWN_CHAINS.includes(s), { message: `must not be one of fastcni's own chains (${OWN_CHAINS.join(', ')})` }),
    firewalldZone: z
      .string()
      .default('')
      .transform((s) => s || 'trusted'),
    ingressPolicy: z.enum(['', 'open', 'same-bridge', 'isolated']).default(''),
  })
  .loose();

export type FirewallConfig = z.infer<typeof firewallConfigSchema>;
