// The macvlan plugin's network config: the reference's fields and defaults
// (https://github.com/containernetworking/plugins/blob/main/plugins/main/macvlan/macvlan.go, NetConf
// and loadConf), with `bcqueuelen` of its newest version.
import { z } from 'zod';
import { macSchema } from '../../src/spec/fields.js';
import { sublinkBaseSchema } from '../../src/sublink/config.js';

export const MACVLAN_MODES = ['bridge', 'private', 'vepa', 'passthru'] as const;

/** Raw config as written by an admin; unknown keys are kept (other plugins of a chain may own them). */
export const macvlanConfigSchema = sublinkBaseSchema.extend({
  // "" is the reference's spelling of the default
  mode: z
    .enum(['', ...MACVLAN_MODES], { error: (i) => `unknown macvlan mode: ${JSON.stringify(i.input)} (one of ${MACVLAN_MODES.join(', ')})` })
    .default('bridge')
    .transform((m) => m || 'bridge'),
  mac: macSchema.optional(),
  bcqueuelen: z.number().int().min(0).max(0xffffffff).default(0),
  runtimeConfig: z.object({ mac: macSchema.optional() }).loose().optional(),
});

export type MacvlanConfig = z.infer<typeof macvlanConfigSchema>;
