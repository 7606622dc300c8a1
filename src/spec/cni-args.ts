// CNI_ARGS ("K1=V1;K2=V2") parsed like the reference's types.LoadArgs.
import { CniError, ErrorCode } from './errors.js';
import { goQuoteList } from './versions.js';

function parseGoBool(s: string): boolean | undefined {
  const l = s.toLowerCase();
  if (l === '1' || l === 'true') return true;
  if (l === '0' || l === 'false') return false;
  return undefined;
}

/**
 * Parse CNI_ARGS against the keys a plugin knows (Go struct field names, case-sensitive).
 * Every pair needs exactly one "="; unknown keys are an error unless IgnoreUnknown=1/true is among
 * the args; a later duplicate wins. Errors are CniError code 4 with the reference's message.
 * Returns the known keys that were given (IgnoreUnknown only when listed in knownKeys).
 */
export function parseCniArgs(raw: string | undefined, knownKeys: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  if (!raw) return out;
  const known = new Set(knownKeys);
  const unknown: string[] = [];
  let ignoreUnknown = false;
  for (const pair of raw.split(';')) {
    const kv = pair.split('=');
    if (kv.length !== 2) throw new CniError(ErrorCode.InvalidEnvironment, `ARGS: invalid pair ${JSON.stringify(pair)}`);
    const [key, value] = kv as [string, string];
    if (key === 'IgnoreUnknown') {
      const b = parseGoBool(value);
      if (b === undefined) {
        throw new CniError(
          ErrorCode.InvalidEnvironment,
          `ARGS: error parsing value of pair ${JSON.stringify(pair)}: boolean unmarshal error: invalid input ${value.toLowerCase()})`,
        );
      }
      ignoreUnknown = b;
      if (known.has(key)) out[key] = value;
      continue;
    }
    if (!known.has(key)) {
      unknown.push(pair);
      continue;
    }
    out[key] = value;
  }
  if (unknown.length > 0 && !ignoreUnknown) {
    throw new CniError(ErrorCode.InvalidEnvironment, `ARGS: unknown args ${goQuoteList(unknown)}`);
  }
  return out;
}

/** Split CNI_ARGS leniently into ordered [key, value] pairs (value after the first "="), for handing to plugins. */
export function splitCniArgs(raw: string | undefined): Array<[string, string]> {
  if (!raw) return [];
  return raw
    .split(';')
    .filter((p) => p !== '')
    .map((p) => {
      const i = p.indexOf('=');
      return i < 0 ? [p, ''] : [p.slice(0, i), p.slice(i + 1)];
    });
}
