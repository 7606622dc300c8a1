// IP addresses and prefixes read and written by Go's rules (net.ParseIP, net.ParseCIDR, IP.String,
// IPNet.String): results print addresses as the reference does and host-local names its files by
// them. ip-address parses and writes IPv6 (RFC 5952); the integers serve the allocator's arithmetic.
import { Address4, Address6 } from 'ip-address';

/** An address as Go's To4() sees it (an IPv4-mapped IPv6 address is IPv4) and its value (32 or 128 bits). */
export interface Ip {
  readonly family: 4 | 6;
  readonly value: bigint;
}

/**
 * A prefix as written, host bits kept (types.ParseCIDR). `bits` is the width of the mask as
 * written: 32 for a dotted quad, 128 for IPv6 text — an IPv4-mapped address keeps its 128-bit mask,
 * as net.ParseCIDR does, so `prefix` counts out of `bits`.
 */
export interface Cidr {
  readonly ip: Ip;
  readonly prefix: number;
  readonly bits: 32 | 128;
}

const MAPPED = 0xffffn << 32n;
const V4 = /^(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])(\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])){3}$/;

/** Bits in an address of this family. */
export function bitsOf(family: 4 | 6): 32 | 128 {
  return family === 4 ? 32 : 128;
}

/** A 128-bit value as Go's To4() reads it: IPv4 when it is IPv4-mapped. */
function fromV6(value: bigint): Ip {
  return value >> 32n === 0xffffn ? { family: 4, value: value & 0xffffffffn } : { family: 6, value };
}

/**
 * Parse an address like net.ParseIP: no zone, no prefix, no leading zero in an IPv4 field (Go
 * 1.17+); an IPv4-mapped IPv6 address comes back as IPv4. Undefined when invalid.
 */
export function parseIp(text: string): Ip | undefined {
  if (V4.test(text)) return { family: 4, value: new Address4(text).bigInt() };
  if (!text.includes(':') || text.includes('%') || text.includes('/') || !Address6.isValid(text)) return undefined;
  return fromV6(new Address6(text).bigInt());
}

/** Parse "addr/len" like net.ParseCIDR, keeping the host bits of the address. Undefined when invalid. */
export function parseCidr(text: string): Cidr | undefined {
  const slash = text.indexOf('/');
  if (slash < 0) return undefined;
  const ipText = text.slice(0, slash);
  const lenText = text.slice(slash + 1);
  const ip = parseIp(ipText);
  if (!ip || !/^[0-9]{1,3}$/.test(lenText)) return undefined;
  const bits = ipText.includes(':') ? 128 : 32;
  const prefix = Number(lenText);
  if (prefix > bits) return undefined;
  return { ip, prefix, bits };
}

/** net.IP.String(): a dotted quad, or RFC 5952 text (the longest run of two or more zero groups as "::"). */
export function formatIp(ip: Ip): string {
  if (ip.family === 6) return Address6.fromBigInt(ip.value).correctForm();
  // on the allocator's path for every candidate: shifts, not a parse of a built string
  const v = ip.value;
  return `${(v >> 24n) & 255n}.${(v >> 16n) & 255n}.${(v >> 8n) & 255n}.${v & 255n}`;
}

/** "ip/prefix" in Go's form, the prefix counted in the address's own family. */
export function formatCidr(ip: Ip, prefix: number): string {
  return `${formatIp(ip)}/${prefix}`;
}

/**
 * The prefix length net.IPNet.String() prints: an IPv4-mapped address under a 128-bit mask prints
 * as IPv4 with the mask's last 32 bits.
 */
export function familyPrefix(c: Cidr): number {
  return c.bits === bitsOf(c.ip.family) ? c.prefix : Math.max(c.prefix - 96, 0);
}

/** net.IPNet.String() of a prefix as parsed (host bits kept). */
export function cidrText(c: Cidr): string {
  return formatCidr(c.ip, familyPrefix(c));
}

/** Go's printed form of an IP string; the input unchanged when it does not parse. */
export function canonicalIp(text: string): string {
  const ip = parseIp(text);
  return ip ? formatIp(ip) : text;
}

/** The address of an "ip/prefix" (a result's `ips[].address`), Go-printed; the input unchanged when it does not parse. */
export function addressOf(cidr: string): string {
  const c = parseCidr(cidr);
  return c ? formatIp(c.ip) : cidr;
}

/** Go's printed form of a CIDR string; the input unchanged when it does not parse. */
export function canonicalCidr(text: string): string {
  const c = parseCidr(text);
  return c ? cidrText(c) : text;
}

/** The family of an IP or CIDR string as Go's To4() decides it; undefined when it does not parse. */
export function ipFamily(text: string): 4 | 6 | undefined {
  return (text.includes('/') ? parseCidr(text)?.ip : parseIp(text))?.family;
}

/** The mask of a prefix as an integer of `bits` bits. */
export function maskOf(bits: 32 | 128, prefix: number): bigint {
  const width = BigInt(bits);
  return ((1n << width) - 1n) ^ ((1n << (width - BigInt(prefix))) - 1n);
}

/** The address in the width of the prefix's mask: a mapped IPv4 address under a 128-bit mask is ::ffff:a.b.c.d. */
function widened(c: Cidr): bigint {
  return c.bits === 128 && c.ip.family === 4 ? MAPPED | c.ip.value : c.ip.value;
}

function narrowed(value: bigint, bits: 32 | 128): Ip {
  return bits === 32 ? { family: 4, value } : fromV6(value);
}

/** The network address of a prefix (Go's ip.Mask(mask), then To4()). */
export function networkOf(c: Cidr): Ip {
  return narrowed(widened(c) & maskOf(c.bits, c.prefix), c.bits);
}

/** The last address of a prefix (the broadcast for IPv4). */
export function lastOf(c: Cidr): Ip {
  return narrowed(widened(c) | ((1n << BigInt(c.bits - c.prefix)) - 1n), c.bits);
}

/** Whether a prefix contains an address, as net.IPNet.Contains decides (never across families). */
export function cidrContains(c: Cidr, ip: Ip): boolean {
  if (ip.family !== c.ip.family) return false;
  const m = maskOf(bitsOf(ip.family), familyPrefix(c));
  return (ip.value & m) === (c.ip.value & m);
}

/** Same family and value. */
export function ipEqual(a: Ip | undefined, b: Ip | undefined): boolean {
  return !!a && !!b && a.family === b.family && a.value === b.value;
}

/** The next address, wrapping round at the end of the family's space as the reference's ip.NextIP does. */
export function nextIp(ip: Ip): Ip {
  const max = (1n << BigInt(bitsOf(ip.family))) - 1n;
  return { family: ip.family, value: ip.value === max ? 0n : ip.value + 1n };
}
