// Which config versions a command accepts: one table of minimum versions, then the plugin's exact list.
import { CniError, ErrorCode } from '../spec/errors.js';
import { goQuoteList, versionAtLeast } from '../spec/versions.js';
import type { Command } from './env-rules.js';

/** The oldest config version each command exists in (CHECK since 0.4.0, GC and STATUS since 1.1.0). */
export const MIN_VERSION: Readonly<Partial<Record<Command, string>>> = { CHECK: '0.4.0', GC: '1.1.0', STATUS: '1.1.0' };

function atLeast(a: string, b: string): boolean {
  try {
    return versionAtLeast(a, b);
  } catch (e) {
    throw new CniError(ErrorCode.DecodingFailure, (e as Error).message, undefined, { cause: e });
  }
}

/**
 * The reference skel's version checks for one command, in its order: the command's minimum
 * ("config version does not allow X" → 1; an unparsable version → 6), some supported version at
 * least the config's ("plugin version does not allow X" → 1), then an exact match in the list
 * ("incompatible CNI versions", details `config is "x", plugin supports ["a" "b"]` → 1).
 */
export function checkVersion(cmd: Command, configVersion: string, supported: readonly string[]): void {
  const min = MIN_VERSION[cmd];
  if (min !== undefined) {
    if (!atLeast(configVersion, min)) throw new CniError(ErrorCode.IncompatibleVersion, `config version does not allow ${cmd}`);
    if (!supported.some((v) => atLeast(v, configVersion))) {
      throw new CniError(ErrorCode.IncompatibleVersion, `plugin version does not allow ${cmd}`);
    }
  }
  if (!supported.includes(configVersion)) {
    throw new CniError(
      ErrorCode.IncompatibleVersion,
      'incompatible CNI versions',
      `config is ${JSON.stringify(configVersion)}, plugin supports ${goQuoteList(supported)}`,
    );
  }
}
