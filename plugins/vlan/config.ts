// The vlan plugin's network config: the reference's fields and rules
// (https://github.com/containernetworking/plugins/blob/main/plugins/main/vlan/vlan.go, NetConf and loadConf).
import { z } from 'zod';
import { sublinkBaseSchema } from '../../src/sublink/config.js';

const MASTER_REQUIRED = '"master" field is required. It specifies the host interface name to create the VLAN for';

/** Raw config as written by an admin; unknown keys are kept (other plugins of a chain may own them). */
export const vlanConfigSchema = sublinkBaseSchema.extend({
  master: z
    .string({ error: (i) => (i.input === undefined ? MASTER_REQUIRED : undefined) })
    .min(1, MASTER_REQUIRED)
    .max(15, 'an interface name has at most 15 characters'),
  vlanId: z
    .number()
    .int()
    .min(0, 'invalid VLAN ID (must be between 0 and 4094)')
    .max(4094, 'invalid VLAN ID (must be between 0 and 4094)')
    .default(0),
});

export type VlanConfig = z.infer<typeof vlanConfigSchema>;
