// The one way a path is built from input (a container ID, network name, interface name, device ID):
// each part that came from input must be one file name, so the path stays in its directory whatever
// the input, also where the callers' own validation of that input is looser or absent.
import { join } from 'node:path';
import { CniError, ErrorCode } from './errors.js';

/** Linux NAME_MAX: the longest file name. */
export const MAX_FILE_NAME_BYTES = 255;

/** Why `name` is not one file name, or undefined when it is. */
function fileNameProblem(name: string): string | undefined {
  if (name === '') return 'it is empty';
  if (name === '.' || name === '..') return `it is ${JSON.stringify(name)}`;
  if (name.includes('/')) return 'it contains "/"';
  if (name.includes('\0')) return 'it contains a NUL byte';
  const bytes = Buffer.byteLength(name, 'utf8');
  if (bytes > MAX_FILE_NAME_BYTES) return `it has ${bytes} bytes, more than ${MAX_FILE_NAME_BYTES}`;
  return undefined;
}

/**
 * `dir`/`name`, where `name` (built from `field`) must be one file name: code 7 naming the field
 * otherwise. The result is always directly inside `dir`.
 */
export function fileIn(dir: string, name: string, field: string): string {
  const problem = fileNameProblem(name);
  if (problem) throw new CniError(ErrorCode.InvalidNetworkConfig, `${field}: ${JSON.stringify(name)} is not a file name: ${problem}`);
  return join(dir, name);
}

/**
 * `dir`/`rel` for a relative path from input (`field`) that may have several parts but never leaves
 * `dir`: no part "..", none empty after normalising, no NUL; code 7 naming the field otherwise.
 */
export function pathUnder(dir: string, rel: string, field: string): string {
  const parts = rel.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.length === 0 || parts.some((p) => fileNameProblem(p) !== undefined)) {
    throw new CniError(ErrorCode.InvalidNetworkConfig, `${field}: ${JSON.stringify(rel)} is not a path inside ${dir}`);
  }
  return join(dir, ...parts);
}
