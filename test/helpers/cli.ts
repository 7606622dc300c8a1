// Runs the built `fastcni` CLI like a person does, optionally inside a node namespace, with a sandbox of
// its own: a temp config dir, cache dir and IPAM data dir, CNI_PATH = dist/cni.
import { existsSync, mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bridgeConf, tempDir } from './fixtures.js';
import type { Netns } from './netns.js';
import { CNITOOL, execWith, OUR_BIN, REF_BIN, ROOT, type PluginRun } from './run-plugin.js';

export const CLI = join(ROOT, 'dist', 'src', 'cli', 'fastcni.js');

/** Run `node dist/src/cli/fastcni.js ARGS` (inside `node` when given) with exactly this env plus PATH. */
export function fastcni(args: string[], o: { node?: Netns; env?: Record<string, string> } = {}): Promise<PluginRun> {
  const env = { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', ...o.env };
  if (o.node) return execWith('ip', ['netns', 'exec', o.node.name, process.execPath, CLI, ...args], env, '');
  return execWith(process.execPath, [CLI, ...args], env, '');
}

export interface Sandbox {
  confDir: string;
  cacheDir: string;
  dataDir: string;
  /** NETCONFPATH, CNI_PATH and FASTCNI_CACHE_DIR pointing into the sandbox */
  env: Record<string, string>;
}

/** Temp dirs for one test (removed when it finishes) and the env that points the CLI at them. */
export function sandbox(): Sandbox {
  const root = tempDir('cli');
  const s = { confDir: join(root, 'conf'), cacheDir: join(root, 'cache'), dataDir: join(root, 'ipam') };
  mkdirSync(s.confDir);
  return { ...s, env: { NETCONFPATH: s.confDir, CNI_PATH: OUR_BIN, FASTCNI_CACHE_DIR: s.cacheDir } };
}

/** Write a bridge + host-local conflist (plus any extra plugins after bridge) into the sandbox's conf dir. */
export function writeBridgeList(
  s: Sandbox,
  o: { name?: string; file?: string; bridge?: string; subnet?: string; cniVersion?: string; extraPlugins?: unknown[] } = {},
): string {
  const name = o.name ?? 'testnet';
  const { cniVersion, name: _n, ...plugin } = bridgeConf({ name, dataDir: s.dataDir, bridge: o.bridge, subnet: o.subnet });
  const list = { cniVersion: o.cniVersion ?? cniVersion, name, plugins: [plugin, ...(o.extraPlugins ?? [])] };
  const file = join(s.confDir, o.file ?? `10-${name}.conflist`);
  writeFileSync(file, JSON.stringify(list, null, 2));
  return file;
}

/** Files in <cacheDir>/results. */
export function cacheFiles(s: Sandbox): string[] {
  const dir = join(s.cacheDir, 'results');
  return existsSync(dir) ? readdirSync(dir).sort() : [];
}

/** host-local reservation files (addresses) of a network. */
export function reservations(s: Sandbox, net = 'testnet'): string[] {
  const dir = join(s.dataDir, net);
  return existsSync(dir)
    ? readdirSync(dir)
        .filter((f) => /^[0-9.]+$|:/.test(f) && !f.startsWith('last_'))
        .sort()
    : [];
}

/** Whether libcni's cnitool was built by the set-up (.cache/bin/cnitool). */
export const haveCnitool = existsSync(CNITOOL);

/** A sandbox whose cache dir is <varLib>/cni, so cnitool (with varLib mounted on /var/lib) shares it. */
export interface CnitoolSandbox extends Sandbox {
  varLib: string;
}

export function cnitoolSandbox(): CnitoolSandbox {
  const s = sandbox();
  const varLib = tempDir('varlib');
  mkdirSync(join(varLib, 'cni'));
  const cacheDir = join(varLib, 'cni');
  return { ...s, cacheDir, varLib, env: { ...s.env, FASTCNI_CACHE_DIR: cacheDir } };
}

/**
 * Run cnitool ARGS inside `node`, with the sandbox's conf dir and CNI_PATH (ours unless given).
 * cnitool's cache root is fixed at /var/lib/cni: it runs in a private mount namespace where the
 * sandbox's varLib is bind-mounted over /var/lib, so the machine's own /var/lib/cni is never touched.
 */
export function cnitool(
  s: CnitoolSandbox,
  node: Netns,
  args: string[],
  o: { cniPath?: string; env?: Record<string, string> } = {},
): Promise<PluginRun> {
  const script = 'mount --bind "$1" /var/lib && shift && exec ip netns exec "$@"';
  return execWith(
    'unshare',
    ['-m', '--propagation', 'private', 'sh', '-c', script, 'sh', s.varLib, node.name, CNITOOL, ...args],
    { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', NETCONFPATH: s.confDir, CNI_PATH: o.cniPath ?? OUR_BIN, ...o.env },
    '',
  );
}

/**
 * A CNI_PATH directory of one plugin per name, each taken from ours (dist/cni) or the reference
 * (/usr/lib/cni): e.g. the reference bridge and host-local chained before our portmap. Ours are
 * symbolic links to the launcher, which finds its configuration through /proc/self/exe.
 */
export function mixedPluginDir(choice: Record<string, 'ours' | 'ref'>): string {
  const dir = tempDir('cni-bin');
  for (const [name, from] of Object.entries(choice)) symlinkSync(join(from === 'ours' ? OUR_BIN : REF_BIN, name), join(dir, name));
  return dir;
}
