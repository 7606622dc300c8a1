// The static IPAM plugin's config and the reference's precedence of address sources
// (https://github.com/containernetworking/plugins/blob/main/plugins/ipam/static/main.go, LoadIPAMConfig):
// ipam.addresses, then CNI_ARGS IP= appended (GATEWAY= set on those whose subnet holds it), then
// args.cni.ips replacing the list, then runtimeConfig.ips replacing it again; only the final list
// is validated, and more than one address of a family needs cniVersion 0.3.0 or later.
import { z } from 'zod';
import { netConfSchema, dnsSchema } from '../../src/spec/net-conf.js';
import { argsSchema, runtimeConfigSchema } from '../../src/spec/runtime-config.js';
import { routeSchema } from '../../src/spec/result-schemas.js';
import { parseCniArgs } from '../../src/spec/cni-args.js';
import { versionAtLeast } from '../../src/spec/versions.js';
import { formatPath } from '../../src/spec/zod-errors.js';
import { CniError, ErrorCode } from '../../src/spec/errors.js';
import { cidrContains, cidrText, formatIp, parseCidr, parseIp, type Cidr, type Ip } from '../../src/net/ip.js';

/** Go's net.IP from JSON: "" is no address; anything else must parse (its message: "invalid IP address: x"). */
const gatewaySchema = z
  .string()
  .refine((s) => s === '' || parseIp(s) !== undefined, { error: (iss) => `invalid IP address: ${String(iss.input)}` })
  .nullish();

const addressSchema = z
  .object({
    // missing is "", which then fails as an invalid CIDR (when it is still in the final list)
    address: z.string().default(''),
    gateway: gatewaySchema,
  })
  .loose();

/** The `ipam` block static reads. */
const staticIpamSchema = z
  .object({
    type: z.string().optional(),
    routes: z.array(routeSchema).nullish(),
    addresses: z.array(addressSchema).nullish(),
    dns: dnsSchema.nullish(),
  })
  .loose();

/** static's whole network config (IPAM plugins get the calling plugin's config). */
export const staticConfigSchema = netConfSchema
  .extend({
    ipam: staticIpamSchema.optional(),
    args: argsSchema.nullish(),
    runtimeConfig: runtimeConfigSchema.nullish(),
  })
  .superRefine((n, ctx) => {
    if (!n.ipam) ctx.addIssue({ code: 'custom', path: ['ipam'], message: "IPAM config missing 'ipam' key" });
  });
export type StaticConfig = z.infer<typeof staticConfigSchema>;

/** One address of the result: the prefix as written (host bits kept), and its gateway if it has one. */
export interface StaticAddress {
  cidr: Cidr;
  gateway?: Ip;
}

/** One entry of an address source, before it is parsed, with where it came from for the error. */
interface Candidate {
  text: string;
  gateway?: Ip;
  /** the field path, or "CNI_ARGS IP" */
  source: string;
  /** CNI_ARGS problems are code 4 (the environment), config ones code 7 */
  code: number;
  /** the reference's words for an entry without a prefix */
  what: string;
}

/** A candidate's prefix, or the reference's error (with the field it came from). */
function parseCandidate(c: Candidate): Cidr {
  const cidr = parseCidr(c.text);
  if (!cidr) throw new CniError(c.code, `${c.source}: ${c.what} in CIDR notation, got: '${c.text}'`);
  return cidr;
}

/** CNI_ARGS IP= (comma list of CIDRs) and GATEWAY= (comma list of addresses), as the reference reads them. */
function fromCniArgs(rawArgs: string | undefined): { ips: Candidate[]; gateways: Ip[] } {
  const { IP, GATEWAY } = parseCniArgs(rawArgs, ['IP', 'GATEWAY']);
  const ips: Candidate[] = [];
  for (const item of IP ? IP.split(',') : []) {
    const text = item.trim();
    const c: Candidate = { text, source: 'CNI_ARGS IP', code: ErrorCode.InvalidEnvironment, what: "the 'ip' field is expected to be" };
    // CNI_ARGS addresses are parsed here already (the reference does, before any replacement)
    parseCandidate(c);
    ips.push(c);
  }
  const gateways: Ip[] = [];
  for (const item of GATEWAY ? GATEWAY.split(',') : []) {
    const gw = parseIp(item.trim());
    if (!gw) throw new CniError(ErrorCode.InvalidEnvironment, `CNI_ARGS GATEWAY: invalid gateway address: ${item}`);
    gateways.push(gw);
  }
  return { ips, gateways };
}

/**
 * The addresses static returns for this request, in the reference's order and precedence.
 * `log` hears of a GATEWAY= that fits no CNI_ARGS address (the reference drops it silently).
 */
export function resolveAddresses(conf: StaticConfig, rawArgs: string | undefined, log: (line: string) => void): StaticAddress[] {
  const ipam = conf.ipam!;
  let list: Candidate[] = (ipam.addresses ?? []).map((a, i) => ({
    text: a.address,
    ...(a.gateway ? { gateway: parseIp(a.gateway) } : {}),
    source: formatPath(['ipam', 'addresses', i, 'address']),
    code: ErrorCode.InvalidNetworkConfig,
    what: "the 'address' field is expected to be",
  }));
  const env = fromCniArgs(rawArgs);
  // GATEWAY= goes to the CNI_ARGS addresses only: the reference matches it before it has parsed
  // the config's own addresses, whose subnets are then still empty.
  for (const gw of env.gateways) {
    const fits = env.ips.filter((c) => cidrContains(parseCandidate(c), gw));
    for (const c of fits) c.gateway = gw;
    if (fits.length === 0) log(`static: CNI_ARGS GATEWAY=${formatIp(gw)} is in the subnet of no CNI_ARGS IP address: ignored`);
  }
  list = [...list, ...env.ips];
  const replace = (texts: string[] | undefined, path: Array<string | number>): void => {
    if (!texts?.length) return;
    list = texts.map((text, i) => ({
      text,
      source: formatPath([...path, i]),
      code: ErrorCode.InvalidNetworkConfig,
      what: "an entry in the 'ips' field is NOT",
    }));
  };
  replace(conf.args?.cni?.ips, ['args', 'cni', 'ips']);
  replace(conf.runtimeConfig?.ips, ['runtimeConfig', 'ips']);

  const out: StaticAddress[] = list.map((c) => ({ cidr: parseCandidate(c), ...(c.gateway ? { gateway: c.gateway } : {}) }));
  const v4 = out.filter((a) => a.cidr.ip.family === 4).length;
  const version = conf.cniVersion ?? '';
  if ((v4 > 1 || out.length - v4 > 1) && !atLeast(version, '0.3.0')) {
    throw new CniError(ErrorCode.InvalidNetworkConfig, `CNI version ${version} does not support more than 1 address per family`);
  }
  return out;
}

/** The result's `address` text of one address (host bits kept, Go's printing). */
export function addressText(a: StaticAddress): string {
  return cidrText(a.cidr);
}

/** version.GreaterThanOrEqualTo: a version that does not parse is not "at least". */
function atLeast(a: string, b: string): boolean {
  try {
    return versionAtLeast(a, b);
  } catch {
    return false;
  }
}
