// prevResult of a request: read in the config version's result type (as version.ParsePrevResult does) and
// handed to plugins in the newest form.
import { CniError, ErrorCode } from '../spec/errors.js';
import { toCurrentResult } from '../spec/result-convert.js';
import { resultFamily } from '../spec/versions.js';
import type { Result } from '../spec/result.js';

const FAMILY_VERSIONS: Record<string, readonly string[]> = { '040': ['0.3.0', '0.3.1', '0.4.0'], '100': ['1.0.0', '1.1.0'] };

/**
 * Parse `prevResult` (undefined when absent or null). A prevResult without cniVersion takes the
 * config's; one whose version is outside the config version's result type is rejected (code 7),
 * as are bad fields (code 7 naming `prevResult.<path>`).
 */
export function readPrevResult(prev: unknown, configVersion: string): Result | undefined {
  if (prev === undefined || prev === null) return undefined;
  const fam = resultFamily(configVersion);
  const own = (prev as { cniVersion?: unknown }).cniVersion;
  let source = typeof own === 'string' && own !== '' ? own : configVersion;
  const allowed = fam ? FAMILY_VERSIONS[fam] : undefined;
  if (allowed && !allowed.includes(source)) {
    throw new CniError(
      ErrorCode.InvalidNetworkConfig,
      `could not parse prevResult: result type supports [${allowed.join(' ')}] but unmarshalled CNIVersion is ${JSON.stringify(source)}`,
    );
  }
  if (fam === '020' && resultFamily(source) !== '020') source = configVersion;
  return toCurrentResult(prev, source, 'prevResult');
}
