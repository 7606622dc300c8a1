// Named network namespaces kept the way `ip netns` keeps them: one bind mount per name under
// /var/run/netns, created and removed through the native addon (no `ip` process). A namespace can
// also be named by any path (/proc/PID/ns/net), which is used as it is.
import { readdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { FailureKind, netnsCreate, netnsDelete } from '../native.js';
import { CniError, ErrorCode, NativeError } from '../spec/errors.js';

/** Where named namespaces live (iproute2's NETNS_RUN_DIR). */
export const NETNS_DIR = '/var/run/netns';
/** Linux NAME_MAX: a namespace name is one file name. */
const NAME_MAX = 255;

/**
 * Check a namespace name as `ip netns` does: one non-empty file name (no "/", not "." or "..",
 * at most NAME_MAX bytes). Throws CniError code 4.
 */
export function validateNetnsName(name: string): void {
  if (name === '') throw new CniError(ErrorCode.InvalidEnvironment, 'namespace name is empty');
  if (name.includes('/') || name === '.' || name === '..' || name.includes('\0') || Buffer.byteLength(name) > NAME_MAX) {
    throw new CniError(
      ErrorCode.InvalidEnvironment,
      `invalid namespace name ${JSON.stringify(name)}`,
      'a name is one file name: no "/", not "." or ".."',
    );
  }
}

/** A name → /var/run/netns/NAME; anything with a "/" is a path, made absolute. */
export function netnsPath(nameOrPath: string): string {
  if (nameOrPath.includes('/')) return resolve(nameOrPath);
  validateNetnsName(nameOrPath);
  return join(NETNS_DIR, nameOrPath);
}

/** Whether a namespace path (or any file) exists. */
export async function netnsExists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/** Create a named namespace (like `ip netns add NAME`) and return its path; fails if the name is taken. */
export async function createNetns(name: string): Promise<string> {
  validateNetnsName(name);
  try {
    return await netnsCreate(name);
  } catch (e) {
    if (e instanceof NativeError && e.kind === FailureKind.Exists) {
      throw new CniError(ErrorCode.InvalidEnvironment, `namespace "${name}" already exists`, join(NETNS_DIR, name), { cause: e });
    }
    throw e;
  }
}

/** Delete a named namespace (like `ip netns del NAME`). Idempotent: false when it did not exist. */
export async function deleteNetns(name: string): Promise<boolean> {
  validateNetnsName(name);
  try {
    await netnsDelete(name);
    return true;
  } catch (e) {
    if (e instanceof NativeError && e.kind === FailureKind.NotFound) return false;
    throw e;
  }
}

/** Names of the namespaces under /var/run/netns, sorted; none when the directory does not exist. */
export async function listNetns(): Promise<string[]> {
  try {
    return (await readdir(NETNS_DIR)).sort();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
}
