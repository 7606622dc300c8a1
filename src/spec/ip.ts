// IP and CIDR strings parsed and printed the way Go's net package does (net.ParseIP, net.ParseCIDR, IP.String).
import { Address6 } from 'ip-address';

/** A parsed address: family as Go sees it (IPv4-mapped IPv6 counts as 4, like IP.To4()), and Go's text form. */
export interface ParsedIp {
  family: 4 | 6;
  /** canonical text, as Go's IP.String() prints it */
  text: string;
  /** address length in bits as written (32 for dotted quad, 128 for any IPv6 text) */
  bits: 32 | 128;
}

const V4 = /^(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])(\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])){3}$/;

/** Parse an IP address like Go's net.ParseIP (no zones, no leading zeros in IPv4); undefined when invalid. */
export function parseIp(s: string): ParsedIp | undefined {
  if (V4.test(s)) return { family: 4, text: s, bits: 32 };
  if (!s.includes(':') || s.includes('%') || s.includes('/')) return undefined;
  let a: Address6;
  try {
    a = new Address6(s);
  } catch {
    return undefined;
  }
  if (!a.isCorrect() && !Address6.isValid(s)) return undefined;
  const n = a.bigInt();
  if (n >> 32n === 0xffffn) {
    const v4 = [24n, 16n, 8n, 0n].map((sh) => ((n >> sh) & 0xffn).toString()).join('.');
    return { family: 4, text: v4, bits: 128 };
  }
  return { family: 6, text: a.correctForm(), bits: 128 };
}

/** A parsed CIDR that keeps its host bits, like types.ParseCIDR. */
export interface ParsedCidr {
  ip: ParsedIp;
  prefix: number;
  /** canonical text, as Go's IPNet.String() prints it (host bits kept) */
  text: string;
}

/** Parse "addr/len" like Go's net.ParseCIDR (host bits allowed); undefined when invalid. */
export function parseCidr(s: string): ParsedCidr | undefined {
  const slash = s.indexOf('/');
  if (slash < 0) return undefined;
  const ip = parseIp(s.slice(0, slash));
  const len = s.slice(slash + 1);
  if (!ip || !/^[0-9]{1,3}$/.test(len)) return undefined;
  const prefix = Number(len);
  if (prefix > ip.bits) return undefined;
  // An IPv4-mapped address with a 128-bit mask prints as IPv4 with the mask's last 32 bits.
  const shown = ip.family === 4 && ip.bits === 128 ? Math.max(prefix - 96, 0) : prefix;
  return { ip, prefix: shown, text: `${ip.text}/${shown}` };
}

/** Go's printed form of an IP string; the input unchanged when it does not parse. */
export function canonicalIp(s: string): string {
  return parseIp(s)?.text ?? s;
}

/** Go's printed form of a CIDR string; the input unchanged when it does not parse. */
export function canonicalCidr(s: string): string {
  return parseCidr(s)?.text ?? s;
}

/** The family of an IP or CIDR string, as Go's To4() decides it; undefined when neither parses. */
export function ipFamily(s: string): 4 | 6 | undefined {
  return (s.includes('/') ? parseCidr(s)?.ip : parseIp(s))?.family;
}
