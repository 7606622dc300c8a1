// A lease's renewal (T1), rebinding (T2) and expiry times, and when to try again after a failed
// renewal, as RFC 2131 §4.4.5 and the reference's commit() define them
// (https://github.com/containernetworking/plugins/blob/main/plugins/ipam/dhcp/lease.go).
import type { DhcpLease } from '../native.js';

/** Option 51's "infinity": such a lease is never renewed. */
const INFINITE = 0xffffffff;

export interface LeaseTimes {
  /** ms since the epoch; Infinity for an infinite lease */
  t1: number;
  t2: number;
  expiry: number;
}

/** From the ACK's options and the time it arrived: T2 defaults to 85 % and T1 to 50 % of the lease. */
export function leaseTimes(s: { lease: Pick<DhcpLease, 'leaseSecs' | 'renewSecs' | 'rebindSecs'>; boundAt: number }): LeaseTimes {
  const { leaseSecs, renewSecs, rebindSecs } = s.lease;
  if (leaseSecs === INFINITE) return { t1: Infinity, t2: Infinity, expiry: Infinity };
  const rebind = rebindSecs === undefined || rebindSecs > leaseSecs ? (leaseSecs * 85) / 100 : rebindSecs;
  const renew = renewSecs === undefined || renewSecs > rebind ? leaseSecs / 2 : renewSecs;
  return { t1: s.boundAt + renew * 1000, t2: s.boundAt + rebind * 1000, expiry: s.boundAt + leaseSecs * 1000 };
}

/**
 * After a failed renewal (or rebinding) at `now`: half the time left until T2 (or expiry), as
 * RFC 2131 §4.4.5 suggests, but at least a second — the RFC's 60 s floor would outlast the short
 * leases of a test server — and never past that deadline.
 */
export function retryAt(t: LeaseTimes, now: number): number {
  const deadline = now >= t.t2 ? t.expiry : t.t2;
  return Math.min(deadline, now + Math.max(1000, (deadline - now) / 2));
}
