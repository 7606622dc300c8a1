// The hostile-input corpus (test/corpus/): its cases turned into a launcher's env and stdin, and a
// snapshot of everything a failed call must leave as it was (links, addresses, routes, rules and the
// nft ruleset of both namespaces, and every file under the run's state directory).
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Netns } from './netns.js';
import { cniEnv, ROOT } from './run-plugin.js';

export const CORPUS_DIR = join(ROOT, 'test', 'corpus');

export interface CorpusCase {
  id: string;
  plugin: string;
  base?: string;
  command?: string;
  set?: Record<string, unknown>;
  unset?: string[];
  env?: Record<string, string | null>;
  stdin?: string;
  repeat?: { prefix: string; unit: string; count: number; suffix: string };
  code: number;
  field: string;
  /** a defect this case shows and the product still has: the case is expected to fail until it is fixed */
  knownDefect?: string;
  /** the file it came from */
  file: string;
}

/** Every case of every *.cases.json, in file order. */
export function loadCorpus(): CorpusCase[] {
  const files = readdirSync(CORPUS_DIR)
    .filter((f) => f.endsWith('.cases.json'))
    .sort();
  return files.flatMap((file) =>
    (JSON.parse(readFileSync(join(CORPUS_DIR, file), 'utf8')) as Omit<CorpusCase, 'file'>[]).map((c) => ({ ...c, file })),
  );
}

const BASES = JSON.parse(readFileSync(join(CORPUS_DIR, 'bases.json'), 'utf8')) as Record<string, unknown>;

export interface CorpusPlace {
  pod: Netns;
  stateDir: string;
}

function expand(value: unknown, place: CorpusPlace): unknown {
  if (typeof value === 'string') {
    return value
      .replaceAll('@STATE@', place.stateDir)
      .replaceAll('@POD@', place.pod.path)
      .replace(/@REPEAT:(.):(\d+)@/gu, (_m, ch: string, n: string) => ch.repeat(Number(n)));
  }
  if (Array.isArray(value)) return value.map((v) => expand(v, place));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, expand(v, place)]));
  }
  return value;
}

/** RFC 6901 pointer "a/b/0" → its parent object and last key. */
function locate(root: Record<string, unknown>, pointer: string): [Record<string, unknown>, string] {
  const keys = pointer.split('/').map((k) => k.replaceAll('~1', '/').replaceAll('~0', '~'));
  let obj = root;
  for (const k of keys.slice(0, -1)) obj = obj[k] as Record<string, unknown>;
  return [obj, keys[keys.length - 1]!];
}

/** The case's stdin and CNI_* env for one run. */
export function corpusInput(c: CorpusCase, place: CorpusPlace): { stdin: string; env: Record<string, string> } {
  const base = BASES[c.base ?? c.plugin] as Record<string, unknown> | undefined;
  // a chained plugin works on the pod's eth0 (its prevResult's); a main plugin makes net1
  const ifname = base?.prevResult ? 'eth0' : 'net1';
  const env = cniEnv(c.command ?? 'ADD', { id: 'corpus', netns: place.pod.path, ifname });
  for (const [k, v] of Object.entries(c.env ?? {})) {
    if (v === null) delete env[k];
    else env[k] = v;
  }
  if (c.stdin !== undefined) return { stdin: c.stdin, env };
  if (c.repeat) return { stdin: c.repeat.prefix + c.repeat.unit.repeat(c.repeat.count) + c.repeat.suffix, env };
  if (!base) throw new Error(`${c.id}: no base config ${c.base ?? c.plugin}`);
  const conf = expand(structuredClone(base), place) as Record<string, unknown>;
  for (const p of c.unset ?? []) {
    const [obj, key] = locate(conf, p);
    delete obj[key];
  }
  for (const [p, v] of Object.entries(c.set ?? {})) {
    const [obj, key] = locate(conf, p);
    obj[key] = expand(v, place);
  }
  return { stdin: JSON.stringify(conf), env };
}

function ipIn(ns: Netns, ...args: string[]): Array<Record<string, unknown>> {
  const out = execFileSync('ip', ['-j', '-n', ns.name, ...args], { encoding: 'utf8' }).trim();
  return out ? JSON.parse(out) : [];
}

/** Links with their addresses, without what moves on its own (counters, a bridge's timers). */
function links(ns: Netns): unknown {
  return JSON.parse(JSON.stringify(ipIn(ns, '-d', 'addr')), (key, value: unknown) =>
    key === 'stats64' || key === 'tentative' || key.endsWith('_timer') ? undefined : value,
  );
}

function files(dir: string, out: Record<string, string> = {}): Record<string, string> {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) {
      out[`${path}/`] = '';
      files(path, out);
    } else {
      out[path] = readFileSync(path, 'utf8');
    }
  }
  return out;
}

function nftRuleset(ns: Netns): string {
  return execFileSync('ip', ['netns', 'exec', ns.name, 'nft', 'list', 'ruleset'], { encoding: 'utf8' });
}

/** Everything a rejected call must not change. */
export function corpusSnapshot(node: Netns, pod: Netns, stateDir: string): Record<string, unknown> {
  const snap: Record<string, unknown> = { files: files(stateDir) };
  for (const [label, ns] of [
    ['node', node],
    ['pod', pod],
  ] as const) {
    snap[`${label} links`] = links(ns);
    // without the local table, which follows the addresses (and IPv6's own settling)
    snap[`${label} routes`] = ipIn(ns, 'route', 'show', 'table', 'all').filter((r) => r.table !== 'local');
    snap[`${label} rules`] = ipIn(ns, 'rule');
    snap[`${label} nft`] = nftRuleset(ns);
  }
  return snap;
}
