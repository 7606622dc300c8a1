// The config fields the macvlan, ipvlan and vlan plugins share, as the reference's NetConf structs
// have them (https://github.com/containernetworking/plugins/tree/main/plugins/main/{macvlan,ipvlan,vlan}):
// `master`, `mtu`, `linkInContainer`, and the MAC rule of macvlan.
import { z } from 'zod';
import { dnsSchema, ipamSchema } from '../spec/net-conf.js';

/** The fields every sublink plugin has; each plugin's schema extends it. */
export const sublinkBaseSchema = z
  .object({
    name: z.string(),
    master: z.string().max(15, 'an interface name has at most 15 characters').default(''),
    mtu: z.number().int().min(0, 'invalid MTU: must be [0, master MTU]').max(0xffffffff).default(0),
    linkInContainer: z.boolean().default(false),
    ipam: ipamSchema.optional(),
    dns: dnsSchema.optional(),
  })
  .loose();

/**
 * The MAC macvlan gives its link: the config's `mac`, replaced by CNI_ARGS `MAC`, replaced by
 * `runtimeConfig.mac` (the reference's loadConf order); invalid ones are refused by the kernel call
 * naming `mac`.
 */
export function sublinkMac(o: {
  mac?: string | undefined;
  runtimeMac?: string | undefined;
  args: ReadonlyArray<[string, string]>;
}): string | undefined {
  const fromArgs = o.args.find(([k]) => k === 'MAC')?.[1];
  return o.runtimeMac || fromArgs || o.mac || undefined;
}
