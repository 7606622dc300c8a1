// The reference plugins' objects of a pod they set up, removed by our DEL and GC, so that a node
// moves from the reference plugins (https://github.com/containernetworking/plugins) to fastcni
// with pods still running: see docs/MIGRATION.md. The kernel work (names, comments, removal over
// netlink) is native (native/core/src/kernel/nft/reference.rs); this names what a plugin's config
// may have made and turns what cannot be reached (iptables-legacy) into a warning.
import * as native from '../native.js';
import type { PluginContext } from '../skel/types.js';

/** Which of the reference's objects a plugin's config may have made for the pod. */
export interface ReferenceKinds {
  /** bridge or ptp with ipMasq */
  masquerade?: boolean;
  /** portmap */
  portmap?: boolean;
  /** bridge with macspoofchk */
  spoofCheck?: boolean;
}

/** The warning for a host whose iptables is the legacy backend: what may stay behind, and how to remove it. */
export function legacyWarning(done: native.ReferenceCleanup, what: string): string | undefined {
  if (!done.legacyTables.length) return undefined;
  const chains = done.legacyChains.length ? `: ${done.legacyChains.join(', ')}` : '';
  return (
    `warning: iptables-legacy (x_tables) table ${done.legacyTables.join(' and ')} is in use on this host; fastcni removes only ` +
    `nf_tables objects, so the reference plugins' legacy iptables chains of ${what} stay if they exist${chains} ` +
    `(remove them with iptables-legacy -t nat: delete the rules that jump to them, then -F and -X each chain; see docs/MIGRATION.md)`
  );
}

function report(ctx: PluginContext, done: native.ReferenceCleanup, what: string): void {
  if (done.removed.length) ctx.log(`removed the reference plugins' objects of ${what}: ${done.removed.join(', ')}`);
  const warning = legacyWarning(done, what);
  if (warning) ctx.log(warning);
}

/** DEL: the reference's objects of this attachment go (nothing there costs one table listing). */
export async function delReferenceObjects(network: string, ctx: PluginContext, kinds: ReferenceKinds): Promise<void> {
  const done = await native.referenceDel({
    hostNetns: ctx.hostNetns,
    network,
    containerId: ctx.containerId,
    ifname: ctx.ifname,
    masquerade: kinds.masquerade ?? false,
    portmap: kinds.portmap ?? false,
    spoofCheck: kinds.spoofCheck ?? false,
  });
  report(ctx, done, `container ${ctx.containerId} (${network}/${ctx.ifname})`);
}

/** GC: the reference's network-keyed objects of containers that are not valid go. */
export async function gcReferenceObjects(network: string, ctx: PluginContext, kinds: ReferenceKinds): Promise<void> {
  const done = await native.referenceGc({
    hostNetns: ctx.hostNetns,
    network,
    valid: (ctx.validAttachments ?? []).map((a) => ({ containerId: a.containerID, ifname: a.ifname })),
    masquerade: kinds.masquerade ?? false,
    portmap: kinds.portmap ?? false,
  });
  report(ctx, done, `stale containers of ${network}`);
}

/** A pod of ours that the reference plugins may DEL after a switch back, and the chains made for it. */
export interface HandedBack {
  network: string;
  containerId: string;
  ifname: string;
  chains: string[];
}

/**
 * Switching back to the reference plugins: every cached attachment of a bridge or ptp network with
 * ipMasq gets the empty masquerade chain that the reference's iptables teardown must find (Debian's
 * v1.1.1 fails its DEL without it). Our elements stay until our GC (see docs/MIGRATION.md).
 */
export async function handBack(
  networks: ReadonlyArray<{ name: string; plugins: ReadonlyArray<Record<string, unknown>> }>,
  attachments: ReadonlyArray<{ network: string; containerId: string; ifname: string; addresses: string[] }>,
): Promise<HandedBack[]> {
  const masqueraded = new Set(
    networks.filter((l) => l.plugins.some((p) => (p.type === 'bridge' || p.type === 'ptp') && p.ipMasq === true)).map((l) => l.name),
  );
  const out: HandedBack[] = [];
  for (const a of attachments) {
    if (!masqueraded.has(a.network)) continue;
    const chains = await native.referencePrepare({
      network: a.network,
      containerId: a.containerId,
      ipv4: a.addresses.some((x) => !x.includes(':')),
      ipv6: a.addresses.some((x) => x.includes(':')),
    });
    out.push({ network: a.network, containerId: a.containerId, ifname: a.ifname, chains });
  }
  return out;
}
