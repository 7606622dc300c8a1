// JSON in and out the way Go's encoding/json does it: decode errors as code 6, Go's escaping and indentation.
import { CniError, ErrorCode } from './errors.js';

/** Escape what Go's encoder escapes beyond JSON.stringify: <, >, & and U+2028/U+2029. */
function goEscape(json: string): string {
  return json.replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Serialise like Go: json.MarshalIndent(v, "", "    ") when indent is true, json.Marshal otherwise. */
export function goStringify(value: unknown, indent = true): string {
  return goEscape(JSON.stringify(value, null, indent ? 4 : undefined) ?? 'null');
}

/** Deep copy with object keys sorted, as Go marshals a map[string]interface{}. */
export function sortKeysDeep(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeysDeep);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(value).sort()) out[k] = sortKeysDeep((value as Record<string, unknown>)[k]);
    return out;
  }
  return value;
}

/** Bytes or text to a string (UTF-8). */
export function toText(data: Uint8Array | string): string {
  return typeof data === 'string' ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('utf8');
}

/**
 * Parse JSON; a syntax error becomes CniError 6 with `prefix` before the decoder's message
 * (Go says "unexpected end of JSON input" for empty input).
 */
export function parseJson(data: Uint8Array | string, prefix = ''): unknown {
  const text = toText(data);
  if (text.trim() === '') throw new CniError(ErrorCode.DecodingFailure, `${prefix}unexpected end of JSON input`);
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new CniError(ErrorCode.DecodingFailure, `${prefix}${(e as Error).message}`, undefined, { cause: e });
  }
}

/** Go's name for a JSON value's kind, as in "cannot unmarshal array into …". */
export function goJsonKind(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v === 'object' ? 'object' : typeof v;
}
