// Reads nftables state with the real nft tool inside a namespace (never the machine's own).
import { execFileSync } from 'node:child_process';
import type { Netns } from './netns.js';

interface NftJson {
  nftables: Array<Record<string, unknown>>;
}

/** The ruleset of a namespace as nft -j prints it. */
export function ruleset(ns: Netns): NftJson['nftables'] {
  const out = execFileSync('ip', ['netns', 'exec', ns.name, 'nft', '-j', 'list', 'ruleset'], { encoding: 'utf8' });
  return (JSON.parse(out) as NftJson).nftables;
}

/** Every element of every set in our masquerade table (inet fastcni), as plain strings. */
export function masqElements(ns: Netns): string[] {
  const out: string[] = [];
  for (const item of ruleset(ns)) {
    const set = item.set as { family?: string; table?: string; elem?: unknown[] } | undefined;
    if (set?.family !== 'inet' || set.table !== 'fastcni') continue;
    for (const e of set.elem ?? []) out.push(typeof e === 'string' ? e : JSON.stringify(e));
  }
  return out;
}

/** Whether an element for this address is present in our masquerade sets. */
export function hasMasqElement(ns: Netns, address: string): boolean {
  return masqElements(ns).some((e) => e.includes(address));
}

/** Our nf_tables objects (tables `inet fastcni` and `bridge fastcni`) as nft lists them, in short. */
export interface OurObjects {
  /** "<family> <set> <comment>", sorted */
  sets: string[];
  /** "<family> <chain> <the sets it looks up, @-prefixed>", sorted */
  rules: string[];
  /** "<family> <chain>" */
  chains: string[];
}

export function ourObjects(ns: Netns): OurObjects {
  const out: OurObjects = { sets: [], rules: [], chains: [] };
  for (const item of ruleset(ns)) {
    const [kind, obj] = Object.entries(item)[0] as [string, Record<string, unknown>];
    if (obj.table !== 'fastcni') continue;
    if (kind === 'set') out.sets.push(`${obj.family} ${obj.name} ${obj.comment ?? ''}`);
    if (kind === 'chain') out.chains.push(`${obj.family} ${obj.name}`);
    if (kind === 'rule') {
      const sets = [...JSON.stringify(obj.expr).matchAll(/"(@[\w-]+)"/g)].map((m) => m[1]);
      out.rules.push([obj.family, obj.chain, ...sets].join(' '));
    }
  }
  out.sets.sort();
  out.rules.sort();
  return out;
}

/** One value of nft -j: a concatenation as "a . b", an element with a comment as "value # comment". */
function nftValue(v: unknown): string {
  if (Array.isArray(v)) return v.map(nftValue).join(' : '); // a map element: [key, data]
  if (v && typeof v === 'object') {
    const o = v as { concat?: unknown[]; elem?: { val: unknown; comment?: string } };
    if (o.concat) return o.concat.map(nftValue).join(' . ');
    if (o.elem) return `${nftValue(o.elem.val)}${o.elem.comment ? ` # ${o.elem.comment}` : ''}`;
    return JSON.stringify(v);
  }
  return String(v);
}

/**
 * The elements of every set and map of the nf_tables tables named `table` (any family) as nft lists
 * them: "<family> <set> <key>[ # <comment>][ : <data>]", sorted.
 */
export function tableElements(ns: Netns, table: string): string[] {
  const out: string[] = [];
  for (const item of ruleset(ns)) {
    const set = (item.map ?? item.set) as { family?: string; table?: string; name?: string; elem?: unknown[] } | undefined;
    if (set?.table !== table) continue;
    for (const e of set.elem ?? []) out.push(`${set.family} ${set.name} ${nftValue(e)}`);
  }
  return out.sort();
}

/** The elements of our portmap maps and sets (tables ip/ip6 fastcni-portmap), as tableElements lists them. */
export function portmapElements(node: Netns): string[] {
  return tableElements(node, 'fastcni-portmap');
}
