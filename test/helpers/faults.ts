// Fault-injection fixtures: the registry of fault points, the agent started with fault injection
// enabled, and a snapshot of everything an attachment can leave behind (links, addresses, routes,
// rules, nftables objects and elements, qdiscs, files) to compare against the state before it.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { jsFaultPoints } from '../../src/faults.js';
import { nativeFaultPoints } from '../../src/native.js';
import { pluginTypes } from '../../src/plugins.js';
import { onTestFinished } from 'vitest';
import { startAgentProcess, type AgentProcess } from './agent.js';
import type { CnitoolSandbox } from './cli.js';
import { CNITOOL, execWith, OUR_BIN, type PluginRun } from './run-plugin.js';
import { ipJson, type Netns } from './netns.js';

/** Every fault point, JavaScript side and native side: the registry the test iterates. */
export function allFaultPoints(): string[] {
  return [...jsFaultPoints(pluginTypes), ...nativeFaultPoints()];
}

/** The points a trace file lists, in order, each once. */
export function tracedPoints(file: string): string[] {
  if (!existsSync(file)) return [];
  return [
    ...new Set(
      readFileSync(file, 'utf8')
        .split('\n')
        .filter((l) => l !== ''),
    ),
  ];
}

/** `fastcni agent` on `socketPath`, started with FASTCNI_FAULT_INJECTION=1. */
export function faultyAgent(socketPath: string): Promise<AgentProcess> {
  return startAgentProcess({ socketPath, env: { FASTCNI_FAULT_INJECTION: '1' } });
}

type Json = unknown;

/** `json` without the fields that change on their own (handles, counters). */
function stable(json: Json): Json {
  if (Array.isArray(json)) return json.map(stable);
  if (json && typeof json === 'object') {
    const out: Record<string, Json> = {};
    for (const [k, v] of Object.entries(json)) if (k !== 'handle' && k !== 'packets' && k !== 'bytes') out[k] = stable(v);
    return out;
  }
  return json;
}

interface LinkRow {
  ifname: string;
  master?: string;
  linkinfo?: { info_kind?: string };
}
interface AddrRow {
  ifname: string;
  addr_info: Array<{ local: string; prefixlen: number; scope: string }>;
}
interface RouteRow {
  dst: string;
  dev?: string;
  table?: string;
  gateway?: string;
}

function netState(ns: Netns, label: string): string[] {
  const out: string[] = [];
  for (const l of ipJson<LinkRow[]>('-n', ns.name, 'link'))
    out.push(`${label} link ${l.ifname} ${l.linkinfo?.info_kind ?? ''} ${l.master ?? ''}`);
  for (const a of ipJson<AddrRow[]>('-n', ns.name, 'addr'))
    for (const i of a.addr_info) if (i.scope !== 'link') out.push(`${label} addr ${a.ifname} ${i.local}/${i.prefixlen}`);
  for (const family of ['-4', '-6'])
    for (const r of ipJson<RouteRow[]>('-n', ns.name, family, 'route', 'show', 'table', 'all'))
      if (!r.dst.startsWith('fe80') && !r.dst.startsWith('ff00') && r.table !== 'local')
        out.push(`${label} route ${r.dst} ${r.dev ?? ''} ${r.gateway ?? ''} ${r.table ?? ''}`);
  for (const family of ['-4', '-6'])
    for (const r of ipJson<unknown[]>('-n', ns.name, family, 'rule')) out.push(`${label} rule ${JSON.stringify(r)}`);
  return out;
}

/** Every nftables object of a namespace (tables, chains, rules, sets, maps and their elements). */
function nftState(ns: Netns): string[] {
  const out = execFileSync('ip', ['netns', 'exec', ns.name, 'nft', '-j', 'list', 'ruleset'], { encoding: 'utf8' });
  const items = (JSON.parse(out) as { nftables: Array<Record<string, Json>> }).nftables;
  return items.filter((i) => !('metainfo' in i)).map((i) => `nft ${JSON.stringify(stable(i))}`);
}

function qdiscState(ns: Netns): string[] {
  const out = execFileSync('tc', ['-j', '-n', ns.name, 'qdisc'], { encoding: 'utf8' });
  return (JSON.parse(out || '[]') as Array<{ dev: string; kind: string }>).map((q) => `qdisc ${q.dev} ${q.kind}`);
}

/**
 * Files under `dir`, but for host-local's bookkeeping that outlives every attachment (its lock,
 * last_reserved_ip, spare and staging files): what is left there is a reservation.
 */
function fileState(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    if (!existsSync(d)) return;
    for (const name of readdirSync(d)) {
      if (name === 'lock' || name.startsWith('last_reserved_ip.') || name.startsWith('.fastcni-')) continue;
      const path = join(d, name);
      if (statSync(path).isDirectory()) walk(path);
      else out.push(`file ${relative(dir, path)}`);
    }
  };
  walk(dir);
  return out;
}

/** What a node, its pod and the state directories hold, sorted. */
export function snapshot(o: { node: Netns; pod: Netns; dirs: string[] }): string[] {
  return [
    ...netState(o.node, 'node'),
    ...netState(o.pod, 'pod'),
    ...nftState(o.node),
    ...qdiscState(o.node),
    ...o.dirs.flatMap(fileState),
  ].sort();
}

/**
 * A runtime's mount namespace that outlives each of its calls, as containerd's or CRI-O's does
 * (host-device pins a move's temporary namespace there): a private one where `varLib` is
 * bind-mounted over /var/lib (cnitool's fixed cache root), held by a process until the test ends.
 * Returns the holder's pid.
 */
export async function runtimeMounts(varLib: string): Promise<number> {
  const holder = spawn(
    'unshare',
    ['-m', '--propagation', 'private', 'sh', '-c', 'mount --bind "$1" /var/lib && echo ready && exec sleep 86400', 'sh', varLib],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  onTestFinished(() => void holder.kill('SIGKILL'));
  await new Promise<void>((resolve, reject) => {
    holder.stdout.once('data', () => resolve());
    holder.once('exit', (code) => reject(new Error(`mount namespace holder exited (${code})`)));
  });
  return holder.pid!;
}

/** cnitool ARGS in the runtime mount namespace `holder` holds, inside `node`'s network namespace. */
export function cnitoolInRuntime(
  s: CnitoolSandbox,
  o: { node: Netns; holder: number; args: string[]; env?: Record<string, string> },
): Promise<PluginRun> {
  return execWith(
    'nsenter',
    ['-t', String(o.holder), '-m', `--net=${o.node.path}`, CNITOOL, ...o.args],
    { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', NETCONFPATH: s.confDir, CNI_PATH: OUR_BIN, ...o.env },
    '',
  );
}
