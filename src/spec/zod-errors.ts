// zod issues turned into CNI errors: code 7 naming the field path, code 2 for an unsupported field.
import type { z } from 'zod';
import { CniError, ErrorCode } from './errors.js';
import { canonicalizeKeys } from './case-keys.js';

/** A field path as `ipam.ranges[0][0].subnet`. */
export function formatPath(path: readonly PropertyKey[], prefix = ''): string {
  let out = prefix;
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else out += out === '' ? String(seg) : `.${String(seg)}`;
  }
  return out;
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let v = root;
  for (const seg of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<PropertyKey, unknown>)[seg];
  }
  return v;
}

function describe(issue: z.core.$ZodIssue, input: unknown, prefix: string): { code: number; text: string } {
  if (issue.code === 'unrecognized_keys') {
    const parts = issue.keys.map((k) => {
      const where = formatPath([...issue.path, k], prefix);
      return `unsupported field ${where}: ${JSON.stringify(valueAt(input, [...issue.path, k]))}`;
    });
    return { code: ErrorCode.UnsupportedField, text: parts.join('; ') };
  }
  const where = formatPath(issue.path, prefix);
  return { code: ErrorCode.InvalidNetworkConfig, text: where ? `${where}: ${issue.message}` : issue.message };
}

/**
 * Turn a zod error into a CniError: code 7 (2 when the first issue is an unknown key of a strict
 * schema), msg = the first issue with its field path, details = the other issues. `input` lets an
 * unsupported-field message name the value; `prefix` is put before every path (e.g. "prevResult").
 */
export function zodToCniError(error: z.ZodError, input?: unknown, prefix = ''): CniError {
  const described = error.issues.map((i) => describe(i, input, prefix));
  const first = described[0] ?? { code: ErrorCode.InvalidNetworkConfig, text: 'invalid network config' };
  const rest = described
    .slice(1)
    .map((d) => d.text)
    .join('; ');
  return new CniError(first.code, first.text, rest || undefined, { cause: error });
}

/** Canonicalise keys case-insensitively, validate, and throw zodToCniError on failure. */
export function parseWithSchema<S extends z.ZodType>(schema: S, input: unknown, prefix = ''): z.output<S> {
  const canonical = canonicalizeKeys(input, schema);
  const r = schema.safeParse(canonical);
  if (!r.success) throw zodToCniError(r.error, canonical, prefix);
  return r.data;
}

/** A code-2 error for a field a plugin does not support, naming key and value as the spec asks. */
export function unsupportedField(path: string, value: unknown): CniError {
  return new CniError(ErrorCode.UnsupportedField, `unsupported field ${path}: ${JSON.stringify(value)}`);
}
