// host-local's allocation policy for one range set: an explicitly requested address, or round
// robin from last_reserved_ip.<i> + 1 through every range of the set, skipping gateways.
import { CniError, ErrorCode } from '../spec/errors.js';
import { formatIp, ipEqual, nextIp, type Ip } from '../net/ip.js';
import { rangeContains, rangeFor, rangeSetString, type Range, type RangeSet } from './ranges.js';
import type { DiskStore, StoreTransaction } from './store.js';

/** An allocated address with the prefix length and gateway of its range. */
export interface Allocation {
  ip: Ip;
  prefix: number;
  gateway: Ip;
}

/** Errors of the allocator use the reference's code (999) and words. */
function fail(msg: string): never {
  throw new CniError(ErrorCode.Internal, msg);
}

/**
 * Candidate addresses in the reference's order: starting after the last reserved address when it is
 * in the set (else at the first range's start), walking each range to its end, moving to the next
 * range and wrapping round, until back at the starting point. Gateways are skipped.
 */
export function* candidates(set: RangeSet, lastReserved: Ip | undefined): Generator<{ ip: Ip; range: Range }> {
  let idx = 0;
  let cur: Ip | undefined;
  let start: Ip | undefined;
  if (lastReserved && set.some((r) => rangeContains(r, lastReserved))) {
    idx = set.findIndex((r) => rangeContains(r, lastReserved));
    cur = lastReserved;
  } else {
    start = set[0]!.rangeStart;
  }
  for (;;) {
    let r = set[idx]!;
    if (cur === undefined) {
      cur = r.rangeStart;
      start = cur;
    } else {
      if (ipEqual(cur, r.rangeEnd)) {
        idx = (idx + 1) % set.length;
        r = set[idx]!;
        cur = r.rangeStart;
      } else {
        cur = nextIp(cur);
      }
      if (start === undefined) start = cur;
      else if (ipEqual(cur, start)) return;
    }
    if (ipEqual(cur, r.gateway)) continue;
    yield { ip: cur, range: r };
  }
}

/** Allocate one address of a range set inside a transaction (reference IPAllocator.Get). */
export function allocateIn(tx: StoreTransaction, set: RangeSet, rangeId: number, id: string, ifname: string, requested?: Ip): Allocation {
  const rid = String(rangeId);
  if (requested) {
    const r = rangeFor(set, requested);
    if (!r) fail(`${formatIp(requested)} not in range set ${rangeSetString(set)}`);
    if (ipEqual(requested, r.gateway)) fail(`requested ip ${formatIp(requested)} is subnet's gateway`);
    if (!tx.reserve(id, ifname, requested, rid))
      fail(`requested IP address ${formatIp(requested)} is not available in range set ${rangeSetString(set)}`);
    return { ip: requested, prefix: r.subnet.prefix, gateway: r.gateway };
  }
  // Duplicate allocation is not allowed by the spec: this attachment may hold one address per set.
  for (const held of tx.getByOwner(id, ifname)) {
    if (rangeFor(set, held)) fail(`${formatIp(held)} has been allocated to ${id}, duplicate allocation is not allowed`);
  }
  for (const { ip, range } of candidates(set, tx.lastReservedIp(rid))) {
    if (tx.isReserved(ip)) continue;
    if (tx.reserve(id, ifname, ip, rid)) return { ip, prefix: range.subnet.prefix, gateway: range.gateway };
  }
  return fail(`no IP addresses available in range set: ${rangeSetString(set)}`);
}

/** Whether an allocation from the set could succeed now: some candidate address is not reserved. */
export function hasFreeAddress(tx: StoreTransaction, set: RangeSet): boolean {
  // Each step passes a reserved address or ends at a free one: O(reservations), never O(range).
  for (const { ip } of candidates(set, undefined)) if (!tx.isReserved(ip)) return true;
  return false;
}

/** Allocate one address of a range set, holding the store's lock for just this set. */
export function allocate(
  store: DiskStore,
  set: RangeSet,
  rangeId: number,
  id: string,
  ifname: string,
  requested?: Ip,
): Promise<Allocation> {
  return store.transaction((tx) => allocateIn(tx, set, rangeId, id, ifname, requested));
}

/** Release every address of (id, ifname) (legacy id-only files when there is none), under the lock. */
export function release(store: DiskStore, id: string, ifname: string): Promise<string[]> {
  return store.transaction((tx) => tx.releaseByOwner(id, ifname));
}
