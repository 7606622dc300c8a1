// IP addresses as (family, bigint) pairs, parsed and printed exactly as Go's net package does,
// because host-local names its files by Go's text form of an address.
import { Address4, Address6 } from 'ip-address';

/** An address: family plus its value as an unsigned integer (32 or 128 bits). */
export interface Ip {
  readonly family: 4 | 6;
  readonly value: bigint;
}

/** A prefix as written in a config: the address as given (host bits kept) and the prefix length. */
export interface Cidr {
  readonly ip: Ip;
  readonly prefix: number;
}

/** Bits in an address of this family. */
export function bitsOf(family: 4 | 6): number {
  return family === 4 ? 32 : 128;
}

/**
 * Parse an address like Go's net.ParseIP followed by host-local's canonicalizeIP: an IPv4-mapped
 * IPv6 address becomes IPv4. Returns undefined for anything else (zones and prefixes included).
 */
export function parseIp(text: string): Ip | undefined {
  if (text.includes('/') || text.includes('%')) return undefined;
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(text)) {
    // Go rejects leading zeros ("010.0.0.1") since 1.17.
    if (text.split('.').some((o) => o.length > 1 && o.startsWith('0'))) return undefined;
    if (!Address4.isValid(text)) return undefined;
    return { family: 4, value: new Address4(text).bigInt() };
  }
  if (!text.includes(':') || !Address6.isValid(text)) return undefined;
  const value = new Address6(text).bigInt();
  if (value >> 32n === 0xffffn) return { family: 4, value: value & 0xffffffffn };
  return { family: 6, value };
}

/** Parse "addr/len" like Go's net.ParseCIDR, keeping the host bits of the address. */
export function parseCidr(text: string): Cidr | undefined {
  const slash = text.indexOf('/');
  if (slash < 0) return undefined;
  const ipText = text.slice(0, slash);
  const lenText = text.slice(slash + 1);
  if (!/^\d{1,3}$/.test(lenText)) return undefined;
  const prefix = Number(lenText);
  // Go keeps an IPv4-mapped address with a v6 prefix as v6 length; host-local then canonicalises
  // the IP to 4 bytes and fails on the mask mismatch. Treat the family by the text here.
  const ip = parseIp(ipText);
  if (!ip) return undefined;
  const textFamily = ipText.includes(':') ? 6 : 4;
  if (prefix > bitsOf(textFamily)) return undefined;
  if (textFamily === 6 && ip.family === 4) {
    if (prefix < 96) return undefined;
    return { ip, prefix: prefix - 96 };
  }
  return { ip, prefix };
}

/** Go's net.IP.String(): dotted quad, or RFC 5952 (longest run of two or more zero groups compressed). */
export function formatIp(ip: Ip): string {
  if (ip.family === 4) {
    const v = ip.value;
    return `${(v >> 24n) & 255n}.${(v >> 16n) & 255n}.${(v >> 8n) & 255n}.${v & 255n}`;
  }
  const groups: number[] = [];
  for (let i = 7; i >= 0; i--) groups.push(Number((ip.value >> BigInt(i * 16)) & 0xffffn));
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (gs: number[]): string => gs.map((g) => g.toString(16)).join(':');
  if (bestLen < 2) return hex(groups);
  return `${hex(groups.slice(0, bestStart))}::${hex(groups.slice(bestStart + bestLen))}`;
}

/** "ip/prefix" in Go's form. */
export function formatCidr(ip: Ip, prefix: number): string {
  return `${formatIp(ip)}/${prefix}`;
}

/** The mask of a prefix as an integer. */
export function maskOf(family: 4 | 6, prefix: number): bigint {
  const bits = BigInt(bitsOf(family));
  const all = (1n << bits) - 1n;
  return all ^ ((1n << (bits - BigInt(prefix))) - 1n);
}

/** The network address of a prefix. */
export function networkOf(c: Cidr): Ip {
  return { family: c.ip.family, value: c.ip.value & maskOf(c.ip.family, c.prefix) };
}

/** The last address of a prefix (the broadcast for IPv4). */
export function lastOf(c: Cidr): Ip {
  const host = (1n << BigInt(bitsOf(c.ip.family) - c.prefix)) - 1n;
  return { family: c.ip.family, value: networkOf(c).value | host };
}

/** Whether a prefix contains an address (same family only). */
export function cidrContains(c: Cidr, ip: Ip): boolean {
  if (ip.family !== c.ip.family) return false;
  const m = maskOf(c.ip.family, c.prefix);
  return (ip.value & m) === (c.ip.value & m);
}

/** Same family and value. */
export function ipEqual(a: Ip | undefined, b: Ip | undefined): boolean {
  return !!a && !!b && a.family === b.family && a.value === b.value;
}

/** The next address, wrapping round at the end of the family's space as Go's ip.NextIP does. */
export function nextIp(ip: Ip): Ip {
  const max = (1n << BigInt(bitsOf(ip.family))) - 1n;
  return { family: ip.family, value: ip.value === max ? 0n : ip.value + 1n };
}
