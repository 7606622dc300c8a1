// The skel's guard that CNI_NETNS is not the namespace the plugin itself (or its host) runs in.
import { stat } from 'node:fs/promises';
import { CniError, ErrorCode } from '../spec/errors.js';

/** CNI_NETNS_OVERRIDE=1/true (any case) turns the check off. */
export function netnsCheckDisabled(override: string | undefined): boolean {
  return override === '1' || (override ?? '').toUpperCase() === 'TRUE';
}

/**
 * Throw code 8 when `netns` is the same namespace as `hostNetns` (default: /proc/self/ns/net),
 * compared by device and inode. A netns path that cannot be opened passes, as in the reference.
 */
export async function checkNotHostNetns(netns: string, hostNetns = '/proc/self/ns/net'): Promise<void> {
  let own;
  try {
    own = await stat(hostNetns, { bigint: true });
  } catch (e) {
    throw new CniError(ErrorCode.InvalidNetns, "get plugin's netns failed", undefined, { cause: e });
  }
  if (netns === '') return;
  let target;
  try {
    target = await stat(netns, { bigint: true });
  } catch {
    return;
  }
  if (target.ino === own.ino && target.dev === own.dev) {
    throw new CniError(ErrorCode.InvalidNetns, "plugin's netns and netns from CNI_NETNS should not be the same");
  }
}
