// Node subnets carved out of the cluster CIDR: subnet number i of the node prefix length, the same
// i in the IPv6 range, and the etcd key naming a subnet. All address arithmetic is src/net/ip.ts's.
import { cidrText, formatIp, nextIp, parseCidr, type Cidr } from '../net/ip.js';
import type { ClusterConfig } from './config.js';

/** One node's share: its IPv4 subnet and (dual-stack) the IPv6 subnet of the same index. */
export interface NodeSubnets {
  index: number;
  subnet: Cidr;
  subnet6?: Cidr;
}

/** How many node subnets the IPv4 cluster CIDR holds (the IPv6 range holds at least as many). */
export function subnetCount(c: Pick<ClusterConfig, 'clusterCIDR' | 'nodePrefixLength'>): number {
  return 2 ** (c.nodePrefixLength - c.clusterCIDR.prefix);
}

function nth(range: Cidr, prefix: number, index: number): Cidr {
  const value = range.ip.value + (BigInt(index) << BigInt(range.bits - prefix));
  return { ip: { family: range.ip.family, value }, prefix, bits: range.bits };
}

/** The node subnets of index `index` (0-based); undefined outside the cluster CIDR. */
export function subnetsAt(c: ClusterConfig, index: number): NodeSubnets | undefined {
  if (!Number.isInteger(index) || index < 0 || index >= subnetCount(c)) return undefined;
  return {
    index,
    subnet: nth(c.clusterCIDR, c.nodePrefixLength, index),
    ...(c.clusterCIDR6 ? { subnet6: nth(c.clusterCIDR6, c.nodePrefixLength6, index) } : {}),
  };
}

/** The index of an IPv4 node subnet given as text ("10.244.3.0/24"); undefined when it is not one of ours. */
export function indexOf(c: ClusterConfig, text: string): number | undefined {
  const s = parseCidr(text);
  if (s?.ip.family !== 4 || s.prefix !== c.nodePrefixLength) return undefined;
  const offset = s.ip.value - c.clusterCIDR.ip.value;
  const step = 1n << BigInt(32 - c.nodePrefixLength);
  if (offset < 0n || offset % step !== 0n) return undefined;
  const index = Number(offset / step);
  return index < subnetCount(c) ? index : undefined;
}

/** The subnets as CIDR text, IPv4 first. */
export function subnetTexts(n: NodeSubnets): string[] {
  return [cidrText(n.subnet), ...(n.subnet6 ? [cidrText(n.subnet6)] : [])];
}

/** The key's last segment for a subnet: "10.244.3.0/24" → "10.244.3.0-24" (etcd keys hold no "/" of ours). */
export function subnetKeyName(n: NodeSubnets): string {
  return cidrText(n.subnet).replace('/', '-');
}

/** The subnet a key's last segment names, as CIDR text; undefined when it is not of that form. */
export function subnetOfKeyName(name: string): string | undefined {
  const text = name.replace(/-(\d+)$/, '/$1');
  return text !== name && parseCidr(text) ? text : undefined;
}

/** The node's gateway-side address in a subnet as flannel writes it: the first address, with the prefix ("10.244.3.1/24"). */
export function firstAddressText(s: Cidr): string {
  return `${formatIp(nextIp(s.ip))}/${s.prefix}`;
}
