// Plugin lookup as libcni does it (the first regular file named after the type in CNI_PATH), and
// whether the file found is one of our entries or launchers, which callers may then run in-process.
import { closeSync, openSync, fstatSync, readSync, statSync, type BigIntStats } from 'node:fs';
import { join } from 'node:path';
import { CniError, ErrorCode } from '../spec/errors.js';

/** The string our plugin entries and launchers carry in their first 4 KiB. */
export const PLUGIN_MARKER = 'fastcni-plugin';
const MARKER_WINDOW = 4096;

// The lookups below use synchronous stat/open/read: a few cached-inode syscalls on a local
// directory cost microseconds, less than one round trip through libuv's thread pool, and they sit
// on every delegated call.

/**
 * libcni's FindInPath: the first dir/type that exists and is a regular file (no exec-bit check).
 * Errors are worded as libcni words them. Not cached: a stat per directory is what libcni does and
 * costs microseconds. `view`: how to reach the paths of a caller whose files are not this
 * process's (PathView.local); the path returned is the caller's.
 */
export async function findInPath(
  type: string,
  paths: readonly string[],
  view: { local(path: string): string } = { local: (p) => p },
): Promise<string> {
  if (type === '') throw new CniError(ErrorCode.Internal, 'no plugin name provided');
  if (type.includes('/')) throw new CniError(ErrorCode.Internal, `invalid plugin name: ${type}`);
  if (paths.length === 0) throw new CniError(ErrorCode.Internal, 'no paths provided');
  for (const dir of paths) {
    const full = join(dir, type);
    try {
      if (statSync(view.local(full), { throwIfNoEntry: false })?.isFile()) return full;
    } catch {
      // not there (or not a directory, or not searchable): try the next directory
    }
  }
  throw new CniError(ErrorCode.Internal, `failed to find plugin ${JSON.stringify(type)} in path [${paths.join(' ')}]`);
}

const markerCache = new Map<string, { version: string; ours: boolean }>();

/** Which file: the same path may name different files for callers that see different files. */
function identity(st: BigIntStats): string {
  return `${st.dev}:${st.ino}`;
}

/** Which contents of that file. */
function version(st: BigIntStats): string {
  return `${st.mtimeNs}:${st.ctimeNs}:${st.size}`;
}

/**
 * Whether the file is one of our plugin entries (marker in its first 4 KiB). The answer is cached
 * by the file's identity (device, inode) and version (mtime, ctime, size), not by its path:
 * replacing, rewriting or chmod-ing the file changes the key, and the file is then opened and read
 * again.
 */
export async function isOurPlugin(path: string): Promise<boolean> {
  const st = statSync(path, { bigint: true, throwIfNoEntry: false });
  const hit = st && markerCache.get(identity(st));
  if (st && hit && hit.version === version(st)) return hit.ours;
  const fd = openSync(path, 'r');
  try {
    const st = fstatSync(fd, { bigint: true });
    const buf = Buffer.alloc(MARKER_WINDOW);
    let bytesRead = 0;
    while (bytesRead < MARKER_WINDOW) {
      const n = readSync(fd, buf, bytesRead, MARKER_WINDOW - bytesRead, bytesRead);
      if (n === 0) break;
      bytesRead += n;
    }
    const ours = buf.subarray(0, bytesRead).includes(PLUGIN_MARKER);
    markerCache.set(identity(st), { version: version(st), ours });
    return ours;
  } finally {
    closeSync(fd);
  }
}
