// What the migration tests read: the reference plugins' nf_tables objects in a namespace (as nft
// prints them), and which of them belong to one attachment by the names and comments the reference
// gives them (containernetworking/plugins pkg/utils FormatChainName, pkg/ip hashForInstance,
// portmap's comments, pkg/link spoofcheck) — computed here independently of the product's Rust.
import { createHash } from 'node:crypto';
import { ruleset } from './nft.js';
import type { Netns } from './netns.js';

/** The tables the reference plugins write to (iptables-nft's nat tables, their nftables backends, bridge's spoof check). */
const REFERENCE_TABLES = new Set(['ip nat', 'ip6 nat', 'inet cni_plugins_masquerade', 'ip cni_hostport', 'ip6 cni_hostport', 'bridge nat']);

const sha512 = (s: string) => createHash('sha512').update(s).digest('hex');

interface NftRule {
  family: string;
  table: string;
  chain: string;
  comment?: string;
  expr?: Array<Record<string, { target?: string } | undefined>>;
}

/**
 * Every chain and rule of the reference's tables, one line each (`<family> <table> chain <name>`,
 * `<family> <table> <chain> -> <jump target> # <comment>`), sorted; handles left out.
 */
export function referenceObjects(ns: Netns): string[] {
  const out: string[] = [];
  for (const item of ruleset(ns)) {
    const chain = item.chain as { family: string; table: string; name: string } | undefined;
    if (chain && REFERENCE_TABLES.has(`${chain.family} ${chain.table}`)) out.push(`${chain.family} ${chain.table} chain ${chain.name}`);
    const rule = item.rule as NftRule | undefined;
    if (rule && REFERENCE_TABLES.has(`${rule.family} ${rule.table}`)) {
      const target = (rule.expr ?? []).map((e) => e.jump?.target ?? e.goto?.target).find(Boolean);
      out.push(`${rule.family} ${rule.table} ${rule.chain} -> ${target ?? ''} # ${rule.comment ?? ''}`);
    }
  }
  return out.sort();
}

/** Whether a line of referenceObjects belongs to the attachment (network, container, ifname). */
export function ownedBy(line: string, a: { network: string; containerId: string; ifname?: string }): boolean {
  const ifname = a.ifname ?? 'eth0';
  const id = `${a.network}${a.containerId}`;
  const marks = [
    `CNI-${sha512(id)}`.slice(0, 28),
    `CNI-DN-${sha512(id)}`.slice(0, 28),
    `${sha512(a.network).slice(0, 16)}-${sha512(`${ifname}:${a.containerId}`).slice(0, 16)}`,
    `id: "${a.containerId}"`,
    `cni-br-iface-${a.containerId}-${ifname}`,
  ];
  return marks.some((m) => line.includes(m)) || line.endsWith(`# ${a.containerId}`);
}
