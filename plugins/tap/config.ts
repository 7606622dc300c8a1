// The tap plugin's network config: the reference's fields
// (https://github.com/containernetworking/plugins/blob/main/plugins/main/tap/tap.go, NetConf):
// `mac`, `mtu`, `multiQueue`, `owner`, `group`, `selinuxContext`, `bridge`, `ipam`, and
// runtimeConfig.mac. Everything the kernel would refuse for a reason of the config's is refused
// here first, naming the field.
import { z } from 'zod';
import { dnsSchema } from '../../src/spec/net-conf.js';
import { CniError, ErrorCode } from '../../src/spec/errors.js';
import { MAC_ADDRESS } from '../../src/spec/fields.js';

/** The largest uid or gid a tap can be given: (uid_t)-1 means "none" to the kernel. */
const MAX_ID = 0xfffffffe;

const id = (what: string) =>
  z.number().int().min(0, `a ${what} is at least 0`).max(MAX_ID, `a ${what} is at most ${MAX_ID} (4294967295 means none to the kernel)`);

const ifName = z
  .string()
  .max(15, 'an interface name is at most 15 bytes')
  .refine((n) => n === '' || !/[/\s:]/.test(n), 'not a valid interface name');

/** Raw config as written by an admin; unknown keys are kept (other plugins of a chain may own them). */
export const tapConfigSchema = z
  .object({
    mac: z.string().optional(),
    mtu: z.number().int().min(0).max(65535, 'the largest MTU is 65535').default(0),
    multiQueue: z.boolean().default(false),
    owner: id('uid').optional(),
    group: id('gid').optional(),
    selinuxContext: z.string().default(''),
    bridge: ifName.default(''),
    ipam: z.object({ type: z.string().optional() }).loose().optional(),
    dns: dnsSchema.optional(),
    runtimeConfig: z.object({ mac: z.string().optional() }).loose().optional(),
  })
  .loose();

export type TapConfig = z.infer<typeof tapConfigSchema>;

/** A MAC in colon or hyphen form, lower-cased with colons; undefined when it is not one. */
function canonicalMac(mac: string): string | undefined {
  return MAC_ADDRESS.test(mac) ? mac.toLowerCase().replaceAll('-', ':') : undefined;
}

/**
 * The tap's MAC, overridden in the reference's order: `mac`, then CNI_ARGS MAC, then
 * runtimeConfig.mac; refused (code 7, naming where it came from) unless a unicast Ethernet address.
 */
export function tapMac(c: TapConfig, cniArgs: Array<[string, string]>): string | undefined {
  let pick = c.mac ? { mac: c.mac, field: 'mac' } : undefined;
  const fromEnv = cniArgs.find(([k]) => k === 'MAC')?.[1];
  if (fromEnv) pick = { mac: fromEnv, field: 'CNI_ARGS MAC' };
  if (c.runtimeConfig?.mac) pick = { mac: c.runtimeConfig.mac, field: 'runtimeConfig.mac' };
  if (!pick) return undefined;
  const mac = canonicalMac(pick.mac);
  if (!mac) throw new CniError(ErrorCode.InvalidNetworkConfig, `${pick.field}: invalid MAC address ${JSON.stringify(pick.mac)}`);
  if (Number.parseInt(mac.slice(0, 2), 16) & 1) {
    throw new CniError(ErrorCode.InvalidNetworkConfig, `${pick.field}: ${mac} is a multicast address, not one a link can have`);
  }
  return mac;
}

/**
 * The reference labels the tap by exec'ing `ip tuntap` under this SELinux context (the device takes
 * the label of the task that creates it); a thread of ours could take it only by a dynamic
 * transition that policies do not grant, so the field is refused rather than silently ignored.
 */
export function refuseSelinuxContext(c: TapConfig): void {
  if (c.selinuxContext) {
    throw new CniError(
      ErrorCode.UnsupportedField,
      `unsupported field selinuxContext: ${JSON.stringify(c.selinuxContext)} (the device would take the label of a process ` +
        'started under that context, and fastcni creates taps without a process)',
    );
  }
}
