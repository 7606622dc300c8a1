// Test-only fault injection: the registry of fault points, and the check at each. A process started
// with FASTCNI_FAULT_INJECTION=1 (the agent, or a plugin process the launcher falls back to) SIGKILLs
// itself at the point a request names in FASTCNI_FAULT, and appends every point the request passes
// to the file FASTCNI_FAULT_TRACE names. Started without it, a point is one test of a constant and
// a request's variables are never read. The request is followed through its awaits (and, for the
// native phases, onto the worker thread its native call runs on: native/core/src/fault.rs), so a
// point armed for one request never fires for another the agent serves at the same time.
import { AsyncLocalStorage } from 'node:async_hooks';
import { appendFileSync } from 'node:fs';

/** What one request armed. */
export interface ArmedRequest {
  /** the point that kills the process */
  point?: string;
  /** a file every point passed is appended to, one per line */
  trace?: string;
}

/** The native calls (src/native.ts); each is a fault point `native.<call>` once it has returned. */
export const NATIVE_CALLS = [
  'addrList',
  'bandwidthAdd',
  'bandwidthInspect',
  'bridgeAdd',
  'bridgeDel',
  'dhcpExchange',
  'dummyAdd',
  'execIn',
  'firewallAdd',
  'firewallDel',
  'firewallGc',
  'firewallInspect',
  'hostDeviceAdd',
  'hostDeviceDel',
  'hostDeviceRecover',
  'linkDel',
  'linkList',
  'lockAcquire',
  'loopbackSet',
  'masqAdd',
  'masqDel',
  'masqGc',
  'masqList',
  'netnsCreate',
  'netnsDelete',
  'overlaySync',
  'overlayTeardown',
  'podIfaceConfigure',
  'podInspect',
  'portmapAdd',
  'portmapCheck',
  'portmapDel',
  'portmapGc',
  'portmapList',
  'ptpVeth',
  'ptpWire',
  'referenceDel',
  'referenceGc',
  'referencePrepare',
  'routeList',
  'sbrAdd',
  'sbrDel',
  'sbrInspect',
  'spoofCheckAdd',
  'spoofCheckDel',
  'spoofCheckGc',
  'spoofCheckList',
  'sublinkAdd',
  'sublinkDel',
  'sublinkInspect',
  'sysctlGet',
  'sysctlSet',
  'tapAdd',
  'tuningApply',
  'tuningInspect',
  'tuningRestore',
  'vrfAdd',
  'vrfDel',
] as const;
export type NativeCall = (typeof NATIVE_CALLS)[number];

/** The state written to files between kernel steps: each a fault point once written. */
export const STATE_WRITES = [
  /** host-local: the owner written to the staging file, not yet linked to the address's name */
  'hostLocal.staged',
  /** host-local: the address's file linked, the staging name not yet unlinked */
  'hostLocal.linked',
  /** host-local: last_reserved_ip written, the reservation complete */
  'hostLocal.reserved',
  /** tuning: the backup of the interface's settings written, before they change */
  'tuning.backup',
  /** flannel: the delegate's config written, before the delegate's ADD */
  'flannel.delegateFile',
] as const;

/** Delegations (src/ipam/delegate.ts), each a fault point once the delegate has answered. */
const DELEGATIONS = ['ipam.ADD', 'ipam.DEL', 'delegate.ADD', 'delegate.DEL'] as const;

/** The commands whose steps are fault points. */
export const FAULT_COMMANDS = ['ADD', 'DEL'] as const;

/**
 * Every fault point on the JavaScript side, for the plugin types given (pluginTypes of
 * src/plugins.ts): each plugin's ADD and DEL once its work is done (before it answers), each
 * delegation, each native call once it returned, each state write. The native calls' own steps
 * are nativeFaultPoints() (src/native.ts).
 */
export function jsFaultPoints(types: readonly string[]): string[] {
  return [
    ...types.flatMap((t) => FAULT_COMMANDS.map((c) => `${t}.${c}`)),
    ...DELEGATIONS,
    ...NATIVE_CALLS.map((c) => `native.${c}`),
    ...STATE_WRITES,
  ];
}

const requests = process.env.FASTCNI_FAULT_INJECTION === '1' ? new AsyncLocalStorage<ArmedRequest>() : undefined;

/** Whether this process was started with fault injection: a hot path tests this before naming a point. */
export const FAULTS_ENABLED = requests !== undefined;

/** Run one request's work with what its environment armed (only when fault injection is enabled). */
export function withFaults<T>(env: Record<string, string | undefined>, work: () => T): T {
  if (!requests) return work();
  return requests.run({ point: env.FASTCNI_FAULT || undefined, trace: env.FASTCNI_FAULT_TRACE || undefined }, work);
}

/** What the request being served armed, for a native call to carry; undefined when disabled. */
export function armedRequest(): ArmedRequest | undefined {
  return requests?.getStore();
}

/** A fault point: traced, and the process SIGKILLed when the request being served armed it. */
export function fault(point: string): void {
  if (!requests) return;
  const armed = requests.getStore();
  if (!armed) return;
  if (armed.trace) appendFileSync(armed.trace, `${point}\n`);
  if (armed.point === point) process.kill(process.pid, 'SIGKILL');
}
