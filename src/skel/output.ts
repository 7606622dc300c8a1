// What the skeleton writes: the error object, the VERSION answer and the about text — in one place.
import { toCniError } from '../spec/errors.js';
import { goStringify } from '../spec/go-json.js';
import { CURRENT_VERSION } from '../spec/versions.js';
import type { InvocationOutput } from './types.js';

/**
 * Anything thrown → the reference's error output: `{code, msg, details?}` on stdout, 4-space
 * indented, no cniVersion (the Go types.Error has none), no trailing newline, exit code 1.
 */
export function errorOutput(e: unknown, stderr = ''): InvocationOutput {
  return { exitCode: 1, stdout: goStringify(toCniError(e).toJSON()), stderr };
}

/** VERSION's answer: compact JSON plus newline, as Go's json.Encoder writes it. */
export function versionOutput(supported: readonly string[]): string {
  return `${goStringify({ cniVersion: CURRENT_VERSION, supportedVersions: supported }, false)}\n`;
}

/** The text printed on stderr when CNI_COMMAND is unset. */
export function aboutOutput(about: string, supported: readonly string[]): string {
  return `${about}\nCNI protocol versions supported: ${supported.join(', ')}\n`;
}
