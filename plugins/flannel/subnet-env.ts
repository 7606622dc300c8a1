// flanneld's subnet.env (KEY=VALUE lines) read as the reference reads it
// (https://github.com/flannel-io/cni-plugin/blob/main/flannel.go, loadFlannelSubnetEnv): networks as
// comma lists without duplicates, the node's subnets as their network prefixes, the MTU as a 32-bit
// unsigned number, FLANNEL_IPMASQ true only for "true"; a network, a subnet, the MTU and IPMASQ are required.
import { readFile } from 'node:fs/promises';
import { CniError, ErrorCode } from '../../src/spec/errors.js';
import { cidrText, familyPrefix, networkOf, parseCidr, type Cidr } from '../../src/net/ip.js';

/** What flanneld leased this node. Prefixes are network prefixes (host bits cleared), as Go's ParseCIDR returns them. */
export interface SubnetEnv {
  networks: Cidr[];
  subnet?: Cidr;
  ip6Networks: Cidr[];
  ip6Subnet?: Cidr;
  mtu: number;
  ipMasq: boolean;
}

/** The network prefix of "addr/len", as the second value of Go's net.ParseCIDR. */
function networkPrefix(text: string): Cidr | undefined {
  const c = parseCidr(text);
  return c && { ip: networkOf(c), prefix: familyPrefix(c), bits: c.ip.family === 4 ? 32 : 128 };
}

/** Comma list of prefixes, duplicates dropped. */
function networkList(value: string, fail: (msg: string) => never): Cidr[] {
  const out: Cidr[] = [];
  for (const item of value.split(',')) {
    const c = networkPrefix(item) ?? fail(`invalid CIDR address: ${item}`);
    if (!out.some((o) => cidrText(o) === cidrText(c))) out.push(c);
  }
  return out;
}

/**
 * Parse subnet.env's text. `path` is the file as the config names it: every error names it, the
 * key and the problem (code 7: the node's network config is incomplete or wrong).
 */
export function parseSubnetEnv(text: string, path: string): SubnetEnv {
  let networks: Cidr[] | undefined;
  let ip6Networks: Cidr[] | undefined;
  let subnet: Cidr | undefined;
  let ip6Subnet: Cidr | undefined;
  let mtu: number | undefined;
  let ipMasq: boolean | undefined;
  // bufio.Scanner's lines: split on \n, a trailing \r dropped; no trimming of keys or values
  for (const raw of text.split('\n')) {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    const eq = line.indexOf('=');
    const key = eq < 0 ? line : line.slice(0, eq);
    const fail = (msg: string): never => {
      throw new CniError(ErrorCode.InvalidNetworkConfig, `${path}: ${key}: ${msg}`);
    };
    if (!KEYS.includes(key)) continue;
    // the reference indexes the value blindly and panics here
    if (eq < 0) fail('no value (a line KEY=VALUE was expected)');
    const value = line.slice(eq + 1);
    switch (key) {
      case 'FLANNEL_NETWORK':
        networks = networkList(value, fail);
        break;
      case 'FLANNEL_IPV6_NETWORK':
        ip6Networks = networkList(value, fail);
        break;
      case 'FLANNEL_SUBNET':
        subnet = networkPrefix(value) ?? fail(`invalid CIDR address: ${value}`);
        break;
      case 'FLANNEL_IPV6_SUBNET':
        ip6Subnet = networkPrefix(value) ?? fail(`invalid CIDR address: ${value}`);
        break;
      case 'FLANNEL_MTU':
        // strconv.ParseUint(value, 10, 32)
        if (!/^[0-9]+$/.test(value) || Number(value) > 0xffffffff) fail(`not an MTU: ${JSON.stringify(value)}`);
        mtu = Number(value);
        break;
      case 'FLANNEL_IPMASQ':
        ipMasq = value === 'true';
        break;
    }
  }
  const missing: string[] = [];
  if (!networks?.length && !ip6Networks?.length) missing.push('FLANNEL_NETWORK', 'FLANNEL_IPV6_NETWORK');
  if (!subnet && !ip6Subnet) missing.push('FLANNEL_SUBNET', 'FLANNEL_IPV6_SUBNET');
  if (mtu === undefined) missing.push('FLANNEL_MTU');
  if (ipMasq === undefined) missing.push('FLANNEL_IPMASQ');
  if (missing.length > 0 || mtu === undefined || ipMasq === undefined) {
    throw new CniError(
      ErrorCode.InvalidNetworkConfig,
      `${path} is missing ${missing.join(', ')} (flanneld writes this file: check the flannel pod's log)`,
    );
  }
  return {
    networks: networks ?? [],
    ...(subnet ? { subnet } : {}),
    ip6Networks: ip6Networks ?? [],
    ...(ip6Subnet ? { ip6Subnet } : {}),
    mtu,
    ipMasq,
  };
}

const KEYS = ['FLANNEL_NETWORK', 'FLANNEL_SUBNET', 'FLANNEL_IPV6_NETWORK', 'FLANNEL_IPV6_SUBNET', 'FLANNEL_MTU', 'FLANNEL_IPMASQ'];

/**
 * Read and parse subnet.env. `local` is where this process opens it, `path` the caller's string
 * for messages. Missing is code 11 (try again later): flanneld writes the file once it holds its
 * lease, so a pod started before that succeeds on a retry; other read failures are code 5.
 */
export async function loadSubnetEnv(local: string, path: string): Promise<SubnetEnv> {
  let text: string;
  try {
    text = await readFile(local, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      throw new CniError(
        ErrorCode.TryAgainLater,
        `subnetFile ${path} does not exist: flanneld writes it once it has its subnet lease (is flannel running on this node?)`,
        undefined,
        { cause: e },
      );
    }
    throw new CniError(ErrorCode.IoFailure, `subnetFile ${path}: cannot read it: ${code ?? (e as Error).message}`, undefined, { cause: e });
  }
  return parseSubnetEnv(text, path);
}
