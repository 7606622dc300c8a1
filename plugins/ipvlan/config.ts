// The ipvlan plugin's network config: the reference's fields and defaults
// (https://github.com/containernetworking/plugins/blob/main/plugins/main/ipvlan/ipvlan.go, NetConf
// and loadConf). No MAC option: an ipvlan link has its master's MAC.
import { z } from 'zod';
import { CniError, ErrorCode } from '../../src/spec/errors.js';
import type { Result } from '../../src/spec/result.js';
import { sublinkBaseSchema } from '../../src/sublink/config.js';

export const IPVLAN_MODES = ['l2', 'l3', 'l3s'] as const;

/** Raw config as written by an admin; unknown keys are kept (other plugins of a chain may own them). */
export const ipvlanConfigSchema = sublinkBaseSchema.extend({
  mode: z
    .enum(['', ...IPVLAN_MODES], { error: (i) => `unknown ipvlan mode: ${JSON.stringify(i.input)} (one of ${IPVLAN_MODES.join(', ')})` })
    .default('l2')
    .transform((m) => m || 'l2'),
});

export type IpvlanConfig = z.infer<typeof ipvlanConfigSchema>;

/**
 * The master: the configured one; chained without one, the single named interface of prevResult;
 * else '' (the default route's interface).
 */
export function ipvlanMaster(conf: IpvlanConfig, prev: Result | undefined): string {
  if (conf.master || !prev) return conf.master;
  const ifaces = prev.interfaces ?? [];
  if (ifaces.length === 1 && ifaces[0]?.name) return ifaces[0].name;
  throw new CniError(ErrorCode.InvalidNetworkConfig, 'master: chained master failure. PrevResult lacks a single named interface');
}
