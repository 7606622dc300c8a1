// Output of the fastcni CLI: short human tables by default, cnitool's JSON for --json, one-line errors.
import { type CniError, toCniError } from '../spec/errors.js';
import { goStringify } from '../spec/go-json.js';
import { formatResult } from '../spec/result-print.js';
import { parseResult, toCurrentResult } from '../spec/result-convert.js';
import type { Result } from '../spec/result.js';
import { resultFamily } from '../spec/versions.js';
import type { AddOutcome, ListOutcome } from './commands.js';
import type { ClusterStatus } from '../cluster/index.js';

/** Left-aligned columns with two spaces between them; a header row first. */
export function table(header: readonly string[], rows: ReadonlyArray<readonly string[]>, indent = '  '): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    indent +
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

/**
 * The ADD result exactly as cnitool prints it (json.MarshalIndent, 4 spaces, no newline): a 1.x
 * result goes through a map in libcni (keys sorted, empty dns dropped); 0.x results are Go structs,
 * which the runtime already hands back in struct order.
 */
export function addJson(o: AddOutcome): string {
  if (resultFamily(o.cniVersion) === '100') {
    try {
      return formatResult(parseResult(o.result, o.cniVersion), o.cniVersion);
    } catch {
      // A result our schemas do not know: print it as received rather than fail after a successful ADD.
    }
  }
  return goStringify(o.result);
}

/** The ADD result for people: interfaces, addresses and routes as small tables. */
export function addText(o: AddOutcome): string {
  const head = `added ${o.network} to ${o.conf.netns} (container ${o.conf.containerId}, ifname ${o.conf.ifname}, cniVersion ${o.cniVersion})`;
  let r: Result;
  try {
    r = toCurrentResult(o.result, o.cniVersion);
  } catch {
    return `${head}\n${goStringify(o.result)}`;
  }
  const out = [head];
  const ifaces = r.interfaces ?? [];
  if (ifaces.length > 0) {
    out.push(
      'interfaces:',
      table(
        ['NAME', 'MAC', 'SANDBOX'],
        ifaces.map((i) => [i.name, i.mac ?? '', i.sandbox ?? '']),
      ),
    );
  }
  const ips = r.ips ?? [];
  if (ips.length > 0) {
    const ifname = (idx: number | undefined) => (idx === undefined ? '' : (ifaces[idx]?.name ?? String(idx)));
    out.push(
      'addresses:',
      table(
        ['ADDRESS', 'GATEWAY', 'INTERFACE'],
        ips.map((i) => [i.address, i.gateway ?? '', ifname(i.interface)]),
      ),
    );
  }
  const routes = r.routes ?? [];
  if (routes.length > 0)
    out.push(
      'routes:',
      table(
        ['DESTINATION', 'GATEWAY'],
        routes.map((rt) => [rt.dst, rt.gw ?? '(default gateway)']),
      ),
    );
  const dns = r.dns;
  if (dns && (dns.nameservers?.length || dns.domain || dns.search?.length)) {
    out.push(
      `dns: ${[...(dns.nameservers ?? []), dns.domain ? `domain ${dns.domain}` : '', dns.search?.length ? `search ${dns.search.join(' ')}` : ''].filter(Boolean).join(', ')}`,
    );
  }
  return out.join('\n');
}

/** `fastcni list` for people. */
export function listText(o: ListOutcome): string {
  const out = [`networks in ${o.confDir}:`];
  out.push(
    o.networks.length > 0
      ? table(
          ['NAME', 'VERSION', 'PLUGINS', 'FILE'],
          o.networks.map((n) => [n.name, n.cniVersion, n.plugins.join(','), n.file ?? '']),
        )
      : '  (none)',
  );
  if (o.malformed.length > 0) {
    out.push('malformed files (skipped):');
    for (const m of o.malformed) out.push(`  ${m.file}: ${m.error}`);
  }
  out.push(`attachments cached in ${o.cacheDir}:`);
  out.push(
    o.attachments.length > 0
      ? table(
          ['NETWORK', 'CONTAINER', 'IFNAME', 'NETNS', 'ADDRESSES'],
          o.attachments.map((a) => [a.network, a.containerId, a.ifname, a.netns ?? '', a.addresses.join(',')]),
        )
      : '  (none)',
  );
  return out.join('\n');
}

/** The one line printed for a failed command: `error: <msg>[: <details>] (CNI code N)`. */
export function errorLine(e: unknown): string {
  const err: CniError = toCniError(e);
  const msg = err.details ? `${err.message}: ${err.details}` : err.message;
  return `error: ${msg.replace(/\s*\n\s*/g, ' ')} (CNI code ${err.code})`;
}

/** The cluster line of `fastcni agent status`, then one line per peer. */
export function clusterLine(c: ClusterStatus): string {
  const head = [
    `  cluster: node ${c.node}, ${c.backend}, ${c.leased ? `leased ${c.subnets.join(' ')}` : 'not leased'}`,
    `public IP ${c.publicIP}${c.vtepMAC ? `, VTEP ${c.vtepMAC}` : ''}`,
    `${c.peers.length} peers, ${c.watchEvents} watch events, ${c.syncs} syncs`,
  ].join(', ');
  const peers = c.peers.map((p) => `    peer ${p.node}: ${p.subnets.join(' ')} via ${p.publicIP}`);
  return [c.lastError ? `${head}; last error: ${c.lastError}` : head, ...peers].join('\n');
}
