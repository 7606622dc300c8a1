// The bridge plugin's network config: fields, defaults and cross-field rules of the reference
// (https://github.com/containernetworking/plugins/blob/main/plugins/main/bridge/bridge.go, loadNetConf).
import { z } from 'zod';
import { CniError, ErrorCode } from '../../src/spec/errors.js';
import { linkName, MAC_ADDRESS, macSchema, nonMasqueradeCidrs } from '../../src/spec/fields.js';
import { dnsSchema } from '../../src/spec/net-conf.js';

const vlanId = z.number().int();

const trunkEntry = z.object({ id: vlanId.optional(), minID: vlanId.optional(), maxID: vlanId.optional() }).loose();

/** Raw config as written by an admin; unknown keys are kept (other plugins of a chain may own them). */
export const bridgeConfigSchema = z
  .object({
    name: z.string(),
    bridge: linkName.default('cni0'),
    isGateway: z.boolean().default(false),
    isDefaultGateway: z.boolean().default(false),
    forceAddress: z.boolean().default(false),
    ipMasq: z.boolean().default(false),
    ipMasqBackend: z.enum(['iptables', 'nftables']).optional(),
    // ours (the reference has no such field): with ipMasq, destinations not masqueraded
    nonMasqueradeCIDRs: nonMasqueradeCidrs.optional(),
    mtu: z.number().int().min(0).max(65535).default(0),
    hairpinMode: z.boolean().default(false),
    promiscMode: z.boolean().default(false),
    vlan: vlanId.default(0),
    vlanTrunk: z.array(trunkEntry).optional(),
    preserveDefaultVlan: z.boolean().default(false),
    macspoofchk: z.boolean().default(false),
    enabledad: z.boolean().default(false),
    disableContainerInterface: z.boolean().default(false),
    portIsolation: z.boolean().default(false),
    ipam: z.object({ type: z.string().optional() }).loose().optional(),
    dns: dnsSchema.optional(),
    args: z
      .object({ cni: z.object({ mac: macSchema.optional() }).loose().optional() })
      .loose()
      .optional(),
    runtimeConfig: z.object({ mac: macSchema.optional() }).loose().optional(),
  })
  .loose()
  .superRefine((c, ctx) => {
    if (c.vlan < 0 || c.vlan > 4094) {
      ctx.addIssue({ code: 'custom', path: ['vlan'], message: `invalid VLAN ID ${c.vlan} (must be between 0 and 4094)` });
    }
    (c.vlanTrunk ?? []).forEach((t, i) => {
      const problem = trunkProblem(t);
      if (problem) ctx.addIssue({ code: 'custom', path: ['vlanTrunk', i], message: problem });
    });
    if (c.vlan > 0 && trunkVlans(c.vlanTrunk).length > 0) {
      ctx.addIssue({ code: 'custom', path: ['vlanTrunk'], message: 'cannot set vlan and vlanTrunk at the same time' });
    }
    if (c.hairpinMode && c.promiscMode) {
      ctx.addIssue({ code: 'custom', path: ['promiscMode'], message: 'cannot set hairpin mode and promiscuous mode at the same time' });
    }
    if (c.disableContainerInterface && c.ipam?.type) {
      ctx.addIssue({
        code: 'custom',
        path: ['disableContainerInterface'],
        message: 'cannot use IPAM when the container interface is disabled',
      });
    }
  });

export type BridgeConfig = z.infer<typeof bridgeConfigSchema>;

type TrunkEntry = z.infer<typeof trunkEntry>;

function trunkProblem(t: TrunkEntry): string | undefined {
  const inRange = (v: number) => v > 0 && v <= 4094;
  if (t.minID !== undefined && t.maxID === undefined) return 'minID and maxID should be configured simultaneously, maxID is missing';
  if (t.minID === undefined && t.maxID !== undefined) return 'minID and maxID should be configured simultaneously, minID is missing';
  if (t.minID !== undefined && !inRange(t.minID)) return 'incorrect trunk minID parameter';
  if (t.maxID !== undefined && !inRange(t.maxID)) return 'incorrect trunk maxID parameter';
  if (t.minID !== undefined && t.maxID !== undefined && t.maxID < t.minID) return 'minID is greater than maxID in trunk parameter';
  if (t.id !== undefined && !inRange(t.id)) return 'incorrect trunk id parameter';
  return undefined;
}

/** The sorted, de-duplicated VLAN ids a trunk config names. */
export function trunkVlans(trunk: TrunkEntry[] | undefined): number[] {
  const ids = new Set<number>();
  for (const t of trunk ?? []) {
    if (t.minID !== undefined && t.maxID !== undefined) for (let v = t.minID; v <= t.maxID; v++) ids.add(v);
    if (t.id !== undefined) ids.add(t.id);
  }
  return [...ids].sort((a, b) => a - b);
}

/**
 * The container MAC: runtimeConfig.mac wins over args.cni.mac, which wins over CNI_ARGS MAC. Each is
 * checked here, before IPAM reserves anything (the config's two by the schema).
 */
export function containerMac(c: BridgeConfig, cniArgs: Array<[string, string]>): string | undefined {
  const fromEnv = cniArgs.find(([k]) => k === 'MAC')?.[1];
  if (fromEnv && !MAC_ADDRESS.test(fromEnv)) {
    throw new CniError(ErrorCode.InvalidNetworkConfig, `CNI_ARGS MAC: invalid MAC address ${JSON.stringify(fromEnv)}`);
  }
  return c.runtimeConfig?.mac || c.args?.cni?.mac || fromEnv || undefined;
}
