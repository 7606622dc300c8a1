// The skel's guards on CNI_NETNS: not the namespace the plugin itself (or its host) runs in, and, for
// a plugin that reserves while it makes links, one that opens.
import { closeSync, openSync, statSync, type BigIntStats } from 'node:fs';
import { CniError, ErrorCode } from '../spec/errors.js';

const SELF_NETNS = '/proc/self/ns/net';

/** CNI_NETNS_OVERRIDE=1/true (any case) turns the check off. */
export function netnsCheckDisabled(override: string | undefined): boolean {
  return override === '1' || (override ?? '').toUpperCase() === 'TRUE';
}

// Our own namespace never changes (no thread Node owns ever switches namespace), so its identity
// is stat()ed once. Any other host path (in the agent, /proc/self/fd/N: the caller's namespace, the
// descriptor its launcher sent, held open for the request) is stat()ed per call.
let selfNetns: BigIntStats | undefined;

function hostStat(hostNetns: string): BigIntStats {
  if (hostNetns !== SELF_NETNS) return statSync(hostNetns, { bigint: true });
  return (selfNetns ??= statSync(hostNetns, { bigint: true }));
}

/**
 * Throw code 8 when `netns` (a path this process opens: PathView.local) is the same namespace as
 * `hostNetns` (default: /proc/self/ns/net),
 * compared by device and inode. A netns path that cannot be opened passes, as in the reference.
 * Synchronous stat calls: two nsfs/procfs lookups cost less than two thread-pool round trips.
 */
export async function checkNotHostNetns(netns: string, hostNetns = SELF_NETNS): Promise<void> {
  let own: BigIntStats;
  try {
    own = hostStat(hostNetns);
  } catch (e) {
    throw new CniError(ErrorCode.InvalidNetns, "get plugin's netns failed", undefined, { cause: e });
  }
  if (netns === '') return;
  let target: BigIntStats;
  try {
    target = statSync(netns, { bigint: true });
  } catch {
    return;
  }
  if (target.ino === own.ino && target.dev === own.dev) {
    throw new CniError(ErrorCode.InvalidNetns, "plugin's netns and netns from CNI_NETNS should not be the same");
  }
}

/**
 * Throw (code 999, as the native open would) unless `netns` (a path this process opens) opens: for a
 * plugin that runs IPAM while a worker makes its links, so that nothing is reserved for a namespace
 * that is not there. `shown` is the path as the caller wrote it.
 */
export function requireNetns(netns: string, shown: string): void {
  try {
    closeSync(openSync(netns, 'r'));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'does not exist' : `cannot be opened (${code ?? String(e)})`;
    throw new CniError(ErrorCode.Internal, `network namespace ${shown} ${why}`, undefined, { cause: e });
  }
}
