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
