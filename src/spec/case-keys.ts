// Go's encoding/json matches object keys to struct fields case-insensitively; this does the same for zod schemas.
import type { z } from 'zod';

type Def = { type: string; [k: string]: unknown };

function defOf(schema: unknown): Def | undefined {
  return (schema as { _zod?: { def?: Def } } | undefined)?._zod?.def;
}

/** The schema with wrappers (optional, default, pipe, lazy, …) taken off. */
function unwrap(schema: unknown): Def | undefined {
  let def = defOf(schema);
  for (let i = 0; def && i < 32; i++) {
    switch (def.type) {
      case 'optional':
      case 'nullable':
      case 'default':
      case 'prefault':
      case 'catch':
      case 'readonly':
      case 'nonoptional':
        def = defOf(def.innerType);
        break;
      case 'pipe':
        def = defOf(def.in);
        break;
      case 'lazy':
        def = defOf((def.getter as () => unknown)());
        break;
      default:
        return def;
    }
  }
  return def;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/**
 * Rename the keys of a parsed JSON value to the field names a schema knows, ignoring case like Go
 * (an exact match wins; when two input keys map to one field, the later one wins, as in Go).
 * Unknown keys are kept as they are. Recurses through objects, arrays, records, unions and
 * intersections. Returns a new value; the input is not modified.
 */
export function canonicalizeKeys(value: unknown, schema: z.ZodType): unknown {
  return walk(value, schema);
}

function walk(value: unknown, schema: unknown): unknown {
  const def = unwrap(schema);
  if (!def) return value;
  switch (def.type) {
    case 'object':
      return isPlainObject(value) ? walkObject(value, def.shape as Record<string, unknown>) : value;
    case 'array':
      return Array.isArray(value) ? value.map((v) => walk(v, def.element)) : value;
    case 'tuple': {
      if (!Array.isArray(value)) return value;
      const items = def.items as unknown[];
      return value.map((v, i) => walk(v, items[i] ?? def.rest));
    }
    case 'record':
      if (!isPlainObject(value)) return value;
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, walk(v, def.valueType)]));
    case 'union': {
      // Apply every object option's names; options of one union rarely disagree on a key.
      let out = value;
      for (const opt of def.options as unknown[]) out = walk(out, opt);
      return out;
    }
    case 'intersection':
      return walk(walk(value, def.left), def.right);
    default:
      return value;
  }
}

function walkObject(value: Record<string, unknown>, shape: Record<string, unknown>): Record<string, unknown> {
  const known = Object.keys(shape);
  const byLower = new Map<string, string>();
  for (const k of known) if (!byLower.has(k.toLowerCase())) byLower.set(k.toLowerCase(), k);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    const field = k in shape ? k : byLower.get(k.toLowerCase());
    if (field === undefined) {
      if (!(k in out)) out[k] = v;
      continue;
    }
    out[field] = walk(v, shape[field]);
  }
  return out;
}
