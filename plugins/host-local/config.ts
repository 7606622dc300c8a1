// host-local's network config: the zod schema and its canonical form (range sets defaulted and
// validated as the reference does, with the reference's messages and the offending field's path).
import { z } from 'zod';
import { netConfSchema, dnsSchema } from '../../src/spec/net-conf.js';
import { runtimeConfigSchema, argsSchema } from '../../src/spec/runtime-config.js';
import { configVersion } from '../../src/spec/net-conf.js';
import { versionAtLeast } from '../../src/spec/versions.js';
import { canonicalizeRangeSet, rangeSetsOverlap, RangeConfigError, type RangeInput, type RangeSet } from '../../src/ipam/ranges.js';
import { parseCidr, parseIp, type Ip } from '../../src/net/ip.js';

/** Default parent of the per-network state directories. */
export const DEFAULT_DATA_DIR = '/var/lib/cni/networks';

const rangeSchema = z
  .object({
    subnet: z.string().optional(),
    rangeStart: z.string().optional(),
    rangeEnd: z.string().optional(),
    gateway: z.string().optional(),
  })
  .loose();

const routeSchema = z
  .object({
    dst: z.string(),
    gw: z.string().optional(),
    mtu: z.number().int().optional(),
    advmss: z.number().int().optional(),
    priority: z.number().int().optional(),
    table: z.number().int().optional(),
    scope: z.number().int().optional(),
  })
  .loose();

/** The `ipam` block host-local reads (legacy single-range fields included). */
export const hostLocalIpamSchema = z
  .object({
    type: z.string().optional(),
    subnet: z.string().optional(),
    rangeStart: z.string().optional(),
    rangeEnd: z.string().optional(),
    gateway: z.string().optional(),
    ranges: z.array(z.array(rangeSchema)).nullable().optional(),
    routes: z.array(routeSchema).nullable().optional(),
    dataDir: z.string().optional(),
    resolvConf: z.string().optional(),
  })
  .loose();

/** host-local's config after validation: what the handlers use. */
export interface HostLocalConfig {
  /** network name: the state directory is dataDir/name */
  name: string;
  cniVersion: string;
  /** range sets in allocation order: runtimeConfig.ipRanges, legacy range, ipam.ranges */
  ranges: RangeSet[];
  routes: Array<z.infer<typeof routeSchema>>;
  dataDir: string;
  resolvConf?: string;
  /** requested addresses from args.cni.ips and runtimeConfig.ips (CNI_ARGS IP= is added per request) */
  requestedIps: Ip[];
}

type Path = Array<string | number>;

const baseSchema = netConfSchema.extend({
  ipam: hostLocalIpamSchema.optional(),
  runtimeConfig: runtimeConfigSchema.optional(),
  args: argsSchema.nullable().optional(),
  dns: dnsSchema.optional(),
});

/** The zod schema of host-local's whole network config; its output is the canonical HostLocalConfig. */
export const hostLocalConfigSchema = baseSchema.transform((n, ctx): HostLocalConfig => {
  const fail = (message: string, path: Path): never => {
    ctx.issues.push({ code: 'custom', message, input: n, path });
    return z.NEVER as never;
  };
  const ipam = n.ipam;
  if (!ipam) return fail("IPAM config missing 'ipam' key", ['ipam']);

  // Routes are copied into the result, so they are checked as the reference decodes them (Go's
  // net.ParseCIDR and net.ParseIP, and their messages), before anything is reserved.
  (ipam.routes ?? []).forEach((r, i) => {
    if (!parseCidr(r.dst)) fail(`invalid CIDR address: ${r.dst}`, ['ipam', 'routes', i, 'dst']);
    if (r.gw && !parseIp(r.gw)) fail(`invalid IP address: ${r.gw}`, ['ipam', 'routes', i, 'gw']);
  });

  // Requested IPs: args.cni.ips then runtimeConfig.ips (prefix ignored). CNI_ARGS IP= comes first
  // at request time.
  const requestedIps: Ip[] = [];
  const addRequested = (text: string, path: Path): void => {
    // as the reference's ip.ParseIP: a CIDR must be a valid one (Go's net.ParseCIDR), else a bare IP
    const ip = text.includes('/') ? parseCidr(text)?.ip : parseIp(text);
    if (!ip) fail(`cannot understand ip: invalid IP address: ${text}`, path);
    else requestedIps.push(ip);
  };
  (n.args?.cni?.ips ?? []).forEach((t, i) => addRequested(t, ['args', 'cni', 'ips', i]));
  (n.runtimeConfig?.ips ?? []).forEach((t, i) => addRequested(t, ['runtimeConfig', 'ips', i]));

  // Range sets with where they came from, in the reference's order.
  const sources: Array<{ inputs: RangeInput[]; path: Path }> = [];
  (n.runtimeConfig?.ipRanges ?? []).forEach((set, i) => sources.push({ inputs: set, path: ['runtimeConfig', 'ipRanges', i] }));
  if (ipam.subnet) {
    sources.push({
      inputs: [{ subnet: ipam.subnet, rangeStart: ipam.rangeStart, rangeEnd: ipam.rangeEnd, gateway: ipam.gateway }],
      path: ['ipam'],
    });
  }
  (ipam.ranges ?? []).forEach((set, i) => sources.push({ inputs: set, path: ['ipam', 'ranges', i] }));
  if (sources.length === 0) return fail('no IP ranges specified', ['ipam', 'ranges']);

  const ranges: RangeSet[] = [];
  for (const [i, src] of sources.entries()) {
    try {
      ranges.push(canonicalizeRangeSet(src.inputs));
    } catch (e) {
      if (!(e instanceof RangeConfigError)) throw e;
      // The legacy form has its fields directly under ipam: drop the range index.
      const sub = src.path.length === 1 ? e.path.slice(1) : e.path;
      return fail(`invalid range set ${i}: ${e.message}`, [...src.path, ...sub]);
    }
  }
  const cniVersion = configVersion(n);
  const v4 = ranges.filter((s) => s[0]!.rangeStart.family === 4).length;
  const v6 = ranges.length - v4;
  if ((v4 > 1 || v6 > 1) && !safeAtLeast(cniVersion, '0.3.0')) {
    return fail(`CNI version ${cniVersion} does not support more than 1 address per family`, ['cniVersion']);
  }
  for (let i = 0; i < ranges.length - 1; i++) {
    for (let j = i + 1; j < ranges.length; j++) {
      if (rangeSetsOverlap(ranges[i]!, ranges[j]!)) return fail(`range set ${i} overlaps with ${j}`, sources[j]!.path);
    }
  }
  return {
    name: n.name,
    cniVersion,
    ranges,
    routes: ipam.routes ?? [],
    dataDir: ipam.dataDir || DEFAULT_DATA_DIR,
    ...(ipam.resolvConf ? { resolvConf: ipam.resolvConf } : {}),
    requestedIps,
  };
});

function safeAtLeast(a: string, b: string): boolean {
  try {
    return versionAtLeast(a, b);
  } catch {
    return false;
  }
}
