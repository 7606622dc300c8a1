// The sbr plugin's network config: the reference's fields
// (https://github.com/containernetworking/plugins/blob/main/plugins/meta/sbr/main.go, PluginConf):
// `table` (a fixed table: only rules), and `gateways` and `addSourceHints`, which only the
// reference's main branch has (no release yet).
import { z } from 'zod';
import { parseIp } from '../../src/net/ip.js';

const MAX_TABLE = 0xffffffff;

/** Raw config as written by an admin; unknown keys are kept (other plugins of a chain may own them). */
export const sbrConfigSchema = z
  .object({
    table: z
      .number()
      .int()
      .min(1, 'table 0 is not a routing table (use 1 to 4294967295)')
      .max(MAX_TABLE, 'routing tables go up to 4294967295')
      .nullish(),
    gateways: z.array(z.string().refine((g) => parseIp(g) !== undefined, 'not an IP address')).nullish(),
    addSourceHints: z.boolean().default(false),
  })
  .loose()
  .superRefine((c, ctx) => {
    const families = (c.gateways ?? []).map((g) => parseIp(g)?.family);
    for (const family of [4, 6] as const) {
      if (families.filter((f) => f === family).length > 1) {
        ctx.addIssue({ code: 'custom', path: ['gateways'], message: `at most one IPv${family} gateway` });
      }
    }
    // A fixed table gets only rules: nothing these two could apply to.
    if (c.table != null) {
      if (c.gateways?.length) ctx.addIssue({ code: 'custom', path: ['gateways'], message: 'cannot be used with a fixed table' });
      if (c.addSourceHints) ctx.addIssue({ code: 'custom', path: ['addSourceHints'], message: 'cannot be used with a fixed table' });
    }
  });

export type SbrConfig = z.infer<typeof sbrConfigSchema>;
