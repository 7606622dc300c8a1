// Ranges and range sets of host-local: defaults, validation (worded as the reference words it),
// membership and the text forms used in error messages.
import { cidrContains, formatCidr, formatIp, ipEqual, lastOf, networkOf, nextIp, parseCidr, parseIp, type Cidr, type Ip } from './ip.js';

/** One range as written in a config (all texts, nothing defaulted). */
export interface RangeInput {
  subnet?: string;
  rangeStart?: string;
  rangeEnd?: string;
  gateway?: string;
}

/** A range after canonicalisation: every bound is present and inside the subnet. */
export interface Range {
  subnet: Cidr;
  rangeStart: Ip;
  rangeEnd: Ip;
  gateway: Ip;
}

/** A set of ranges of one family; one address is allocated per set. */
export type RangeSet = Range[];

/** A validation failure; `path` is relative to the range (e.g. ["rangeStart"]). */
export class RangeConfigError extends Error {
  constructor(
    msg: string,
    readonly path: Array<string | number> = [],
  ) {
    super(msg);
  }
}

function cmp(a: Ip, b: Ip): number {
  return a.value < b.value ? -1 : a.value > b.value ? 1 : 0;
}

/** Whether addr is in the range's subnet and between its bounds (bounds it does not have yet are ignored). */
export function rangeContains(r: Partial<Range> & { subnet: Cidr }, addr: Ip): boolean {
  if (addr.family !== r.subnet.ip.family || !cidrContains(r.subnet, addr)) return false;
  if (r.rangeStart && r.rangeStart.family === addr.family && cmp(addr, r.rangeStart) < 0) return false;
  if (r.rangeEnd && r.rangeEnd.family === addr.family && cmp(addr, r.rangeEnd) > 0) return false;
  return true;
}

/** "start-end", as the reference prints a range. */
export function rangeString(r: Range): string {
  return `${formatIp(r.rangeStart)}-${formatIp(r.rangeEnd)}`;
}

/** "start-end,start-end", as the reference prints a range set. */
export function rangeSetString(s: RangeSet): string {
  return s.map(rangeString).join(',');
}

/** The range of the set holding addr, if any. */
export function rangeFor(s: RangeSet, addr: Ip): Range | undefined {
  return s.find((r) => rangeContains(r, addr));
}

function rangesOverlap(a: Range, b: Range): boolean {
  if (a.rangeStart.family !== b.rangeStart.family) return false;
  return rangeContains(a, b.rangeStart) || rangeContains(a, b.rangeEnd) || rangeContains(b, a.rangeStart) || rangeContains(b, a.rangeEnd);
}

/** Whether two range sets share an address. */
export function rangeSetsOverlap(a: RangeSet, b: RangeSet): boolean {
  return a.some((r) => b.some((r1) => rangesOverlap(r, r1)));
}

function ipField(text: string | undefined, field: string): Ip | undefined {
  if (text === undefined || text === '') return undefined;
  const ip = parseIp(text);
  if (!ip) throw new RangeConfigError(`invalid IP address: ${text}`, [field]);
  return ip;
}

/** Fill in defaults and validate one range (reference `Range.Canonicalize`). */
export function canonicalizeRange(input: RangeInput): Range {
  if (input.subnet === undefined || input.subnet === '') throw new RangeConfigError('IP <nil> not v4 nor v6', ['subnet']);
  const subnet = parseCidr(input.subnet);
  if (!subnet) throw new RangeConfigError(`invalid CIDR address: ${input.subnet}`, ['subnet']);
  const gatewayIn = ipField(input.gateway, 'gateway');
  const startIn = ipField(input.rangeStart, 'rangeStart');
  const endIn = ipField(input.rangeEnd, 'rangeEnd');
  const bits = subnet.ip.family === 4 ? 32 : 128;
  if (subnet.prefix > bits - 2)
    throw new RangeConfigError(`Network ${formatCidr(subnet.ip, subnet.prefix)} too small to allocate from`, ['subnet']);
  const network = networkOf(subnet);
  if (!ipEqual(network, subnet.ip)) {
    throw new RangeConfigError(
      `Network has host bits set. For a subnet mask of length ${subnet.prefix} the network address is ${formatIp(network)}`,
      ['subnet'],
    );
  }
  const subnetText = formatCidr(subnet.ip, subnet.prefix);
  // The reference does not check that an explicit gateway lies in the subnet (v1.1.1 and HEAD), nor
  // its family (https://github.com/containernetworking/plugins/issues/1294). A gateway outside the
  // subnet can be routed to; one of the other family cannot be this range's gateway at all.
  if (gatewayIn && gatewayIn.family !== subnet.ip.family)
    throw new RangeConfigError(`gateway ${formatIp(gatewayIn)} is not the same protocol as subnet ${subnetText}`, ['gateway']);
  const gateway = gatewayIn ?? nextIp(network);
  const partial = { subnet, rangeStart: startIn, rangeEnd: endIn };
  let rangeStart: Ip;
  if (startIn) {
    if (!rangeContains(partial, startIn))
      throw new RangeConfigError(`RangeStart ${formatIp(startIn)} not in network ${subnetText}`, ['rangeStart']);
    rangeStart = startIn;
  } else {
    rangeStart = nextIp(network);
  }
  let rangeEnd: Ip;
  if (endIn) {
    if (!rangeContains({ subnet, rangeStart, rangeEnd: endIn }, endIn))
      throw new RangeConfigError(`RangeEnd ${formatIp(endIn)} not in network ${subnetText}`, ['rangeEnd']);
    rangeEnd = endIn;
  } else {
    // IPv4 leaves out the broadcast address; IPv6 ends at the very last address.
    const last = lastOf(subnet);
    rangeEnd = subnet.ip.family === 4 ? { family: 4, value: last.value - 1n } : last;
  }
  return { subnet, rangeStart, rangeEnd, gateway };
}

/** Canonicalise every range of a set and check family and overlap (reference `RangeSet.Canonicalize`). */
export function canonicalizeRangeSet(inputs: RangeInput[]): RangeSet {
  if (inputs.length === 0) throw new RangeConfigError('empty range set');
  const set: RangeSet = [];
  inputs.forEach((input, i) => {
    let r: Range;
    try {
      r = canonicalizeRange(input);
    } catch (e) {
      if (e instanceof RangeConfigError) throw new RangeConfigError(e.message, [i, ...e.path]);
      throw e;
    }
    if (set.length > 0 && set[0]!.rangeStart.family !== r.rangeStart.family) throw new RangeConfigError('mixed address families', [i]);
    set.push(r);
  });
  for (let i = 0; i < set.length - 1; i++) {
    for (let j = i + 1; j < set.length; j++) {
      if (rangesOverlap(set[i]!, set[j]!))
        throw new RangeConfigError(`subnets ${rangeString(set[i]!)} and ${rangeString(set[j]!)} overlap`, [j]);
    }
  }
  return set;
}
