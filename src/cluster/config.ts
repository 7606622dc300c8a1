// The cluster file of `fastcni agent --cluster`: validated here once, every error naming its field,
// with the defaults of docs/ARCHITECTURE.md "Across nodes" applied.
import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { z } from 'zod';
import { cidrText, familyPrefix, networkOf, parseCidr, parseIp, type Cidr } from '../net/ip.js';
import { formatPath } from '../spec/zod-errors.js';

/** Where flanneld (and we) write the node's lease for the flannel plugin. */
export const DEFAULT_SUBNET_FILE = '/run/flannel/subnet.env';
/** Where the last leased subnet is remembered across restarts. */
export const DEFAULT_STATE_DIR = '/var/lib/fastcni/cluster';

/** A cluster file that does not validate; the message names the field. */
export class ClusterConfigError extends Error {
  override readonly name = 'ClusterConfigError';
}

const cidrOf = (family: 4 | 6) => z.string().refine((s) => parseCidr(s)?.ip.family === family, { message: `not an IPv${family} CIDR` });

const schema = z
  .object({
    clusterCIDR: cidrOf(4),
    clusterCIDR6: cidrOf(6).optional(),
    nodePrefixLength: z.number().int().min(1).max(32).default(24),
    nodePrefixLength6: z.number().int().min(1).max(128).default(64),
    backend: z.enum(['host-gw', 'vxlan']).default('host-gw'),
    etcd: z
      .object({
        endpoints: z.array(z.string().regex(/^https?:\/\/[^/]+\/?$/, 'not an http(s)://host:port URL')).min(1),
        prefix: z
          .string()
          .regex(/^\/.*[^/]$/, 'must start with "/" and not end with one')
          .default('/fastcni/cluster'),
      })
      .strict(),
    nodeName: z.string().min(1).optional(),
    publicIP: z
      .string()
      .refine((s) => parseIp(s) !== undefined, { message: 'not an IP address' })
      .optional(),
    leaseTTL: z.number().int().min(2).max(3600).default(10),
    subnetFile: z.string().min(1).default(DEFAULT_SUBNET_FILE),
    stateDir: z.string().min(1).default(DEFAULT_STATE_DIR),
    mtu: z.number().int().min(576).max(65535).optional(),
    vxlan: z
      .object({
        vni: z.number().int().min(1).max(0xffffff).optional(),
        port: z.number().int().min(1).max(65535).optional(),
        device: z.string().min(1).max(15).optional(),
      })
      .strict()
      .optional(),
    netns: z.string().min(1).optional(),
  })
  .strict();

/** The validated cluster configuration. */
export interface ClusterConfig {
  /** IPv4 cluster CIDR, network address (host bits cleared) */
  clusterCIDR: Cidr;
  clusterCIDR6?: Cidr;
  nodePrefixLength: number;
  nodePrefixLength6: number;
  backend: 'host-gw' | 'vxlan';
  etcd: { endpoints: string[]; prefix: string };
  nodeName: string;
  /** undefined: found in the node's namespace at start */
  publicIP?: string;
  leaseTTL: number;
  subnetFile: string;
  stateDir: string;
  mtu?: number;
  vxlan: { vni?: number; port?: number; device?: string };
  /** the node's network namespace (a path) when the agent runs outside it */
  netns?: string;
}

/** The file's raw JSON form (input of parseClusterConfig). */
export type ClusterConfigInput = z.input<typeof schema>;

function fail(field: string, msg: string): never {
  throw new ClusterConfigError(`${field}: ${msg}`);
}

/** The prefix with host bits cleared, refusing host bits set so a typo does not lease elsewhere. */
function network(text: string, field: string): Cidr {
  const c = parseCidr(text)!;
  const len = familyPrefix(c);
  const bits = c.ip.family === 4 ? 32 : 128;
  const plain: Cidr = { ip: networkOf({ ip: c.ip, prefix: len, bits }), prefix: len, bits };
  if (plain.ip.value !== c.ip.value) fail(field, `${text} has host bits set (did you mean ${cidrText(plain)}?)`);
  return plain;
}

/**
 * Validate a cluster file's JSON. `source` (the file's path) starts every message. Throws
 * ClusterConfigError naming the field.
 */
export function parseClusterConfig(input: unknown, source = 'cluster config'): ClusterConfig {
  const r = schema.safeParse(input);
  if (!r.success) {
    const i = r.error.issues[0]!;
    const path = i.code === 'unrecognized_keys' ? formatPath([...i.path, i.keys[0]!]) : formatPath(i.path);
    const msg = i.code === 'unrecognized_keys' ? 'unknown field' : i.message;
    throw new ClusterConfigError(`${source}: ${path || '(top level)'}: ${msg}`);
  }
  const d = r.data;
  try {
    const clusterCIDR = network(d.clusterCIDR, 'clusterCIDR');
    if (d.nodePrefixLength < clusterCIDR.prefix)
      fail('nodePrefixLength', `${d.nodePrefixLength} is shorter than clusterCIDR's /${clusterCIDR.prefix}: no node subnet fits`);
    if (d.nodePrefixLength > 30) fail('nodePrefixLength', `${d.nodePrefixLength} leaves no room for pods (at most 30)`);
    let clusterCIDR6: Cidr | undefined;
    if (d.clusterCIDR6 !== undefined) {
      clusterCIDR6 = network(d.clusterCIDR6, 'clusterCIDR6');
      if (d.nodePrefixLength6 < clusterCIDR6.prefix)
        fail('nodePrefixLength6', `${d.nodePrefixLength6} is shorter than clusterCIDR6's /${clusterCIDR6.prefix}: no node subnet fits`);
      if (d.nodePrefixLength6 > 126) fail('nodePrefixLength6', `${d.nodePrefixLength6} leaves no room for pods (at most 126)`);
      // same index in both: the IPv6 range must hold at least as many node subnets as the IPv4 one
      if (d.nodePrefixLength6 - clusterCIDR6.prefix < d.nodePrefixLength - clusterCIDR.prefix)
        fail(
          'nodePrefixLength6',
          `clusterCIDR6 holds fewer /${d.nodePrefixLength6} subnets than clusterCIDR holds /${d.nodePrefixLength}, and each node's IPv6 subnet has its IPv4 subnet's index`,
        );
    }
    // host-gw's next hop to a peer's pod subnets is the peer's one publicIP, so it routes only the
    // family of that address, and the IPv4 subnets (clusterCIDR is required) need it to be IPv4
    if (d.backend === 'host-gw') {
      if (clusterCIDR6)
        fail(
          'clusterCIDR6',
          'the host-gw backend routes a peer\'s pod subnets through its publicIP, which must be IPv4 for the IPv4 subnets of clusterCIDR, so IPv6 pod subnets cannot be routed; use backend "vxlan" for dual-stack',
        );
      if (d.publicIP !== undefined && parseIp(d.publicIP)?.family === 6)
        fail(
          'publicIP',
          `the host-gw backend routes the IPv4 pod subnets of clusterCIDR through the peers' publicIP, and ${d.publicIP} is IPv6; use an IPv4 address or backend "vxlan"`,
        );
    }
    return {
      clusterCIDR,
      ...(clusterCIDR6 ? { clusterCIDR6 } : {}),
      nodePrefixLength: d.nodePrefixLength,
      nodePrefixLength6: d.nodePrefixLength6,
      backend: d.backend,
      etcd: { endpoints: d.etcd.endpoints, prefix: d.etcd.prefix },
      nodeName: d.nodeName ?? hostname(),
      ...(d.publicIP !== undefined ? { publicIP: d.publicIP } : {}),
      leaseTTL: d.leaseTTL,
      subnetFile: d.subnetFile,
      stateDir: d.stateDir,
      ...(d.mtu !== undefined ? { mtu: d.mtu } : {}),
      vxlan: d.vxlan ?? {},
      ...(d.netns !== undefined ? { netns: d.netns } : {}),
    };
  } catch (e) {
    if (e instanceof ClusterConfigError) throw new ClusterConfigError(`${source}: ${e.message}`);
    throw e;
  }
}

/** Read and validate a cluster file; unreadable or not JSON is a ClusterConfigError too. */
export async function loadClusterConfig(path: string): Promise<ClusterConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new ClusterConfigError(`${path}: cannot read it: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new ClusterConfigError(`${path}: not JSON: ${(e as Error).message}`);
  }
  return parseClusterConfig(json, path);
}
