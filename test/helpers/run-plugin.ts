// Runs a plugin binary the way a container runtime does: exec with CNI_* env and the config on stdin,
// from inside the node namespace that plays the host.
import { spawn } from 'node:child_process';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** The repository; also when this file runs compiled under dist/ (the benchmark, the demo). */
export const ROOT = basename(HERE) === 'dist' ? dirname(HERE) : HERE;
/** Our plugin binaries (built by `make`). */
export const OUR_BIN = join(ROOT, 'dist', 'cni');
/** Debian's reference plugins. */
export const REF_BIN = '/usr/lib/cni';
/** Every plugin type we ship, written out (not read from the registry) so a test notices one missing. */
export const SHIPPED_PLUGINS: readonly string[] = [
  'bandwidth',
  'bridge',
  'dhcp',
  'dummy',
  'firewall',
  'flannel',
  'host-device',
  'host-local',
  'ipvlan',
  'loopback',
  'macvlan',
  'portmap',
  'ptp',
  'sbr',
  'static',
  'tap',
  'tuning',
  'vlan',
  'vrf',
];
export const CNITOOL = join(ROOT, '.cache', 'bin', 'cnitool');

export interface PluginRun {
  code: number;
  stdout: string;
  stderr: string;
  /** stdout parsed as JSON, when it is JSON */
  json?: unknown;
}

export interface PluginCall {
  /** namespace to run the binary in (the node); undefined = machine's own (only for IPAM-only calls) */
  nodeNs?: string;
  binary: string;
  env: Record<string, string>;
  config: unknown;
  /** extra env such as PATH */
  baseEnv?: Record<string, string>;
}

/** Exec a binary with env and stdin, collect its output. Never rejects for a non-zero exit. */
export function execWith(cmd: string, args: string[], env: Record<string, string>, stdin: string): Promise<PluginRun> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(cmd, args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      let json: unknown;
      try {
        json = stdout.trim() ? JSON.parse(stdout) : undefined;
      } catch {
        json = undefined;
      }
      resolvePromise({ code: code ?? -1, stdout, stderr, json });
    });
    // a child that exits without reading its stdin (find, a failing exec) makes this write fail with
    // EPIPE; that is not the test's concern, and unhandled it would fail the whole run
    child.stdin.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code !== 'EPIPE') reject(e);
    });
    child.stdin.end(stdin);
  });
}

/** Run a CNI plugin binary like a runtime does. */
export function runPlugin(call: PluginCall): Promise<PluginRun> {
  const env = { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', ...call.baseEnv, ...call.env };
  const stdin = typeof call.config === 'string' ? call.config : JSON.stringify(call.config);
  if (call.nodeNs) return execWith('ip', ['netns', 'exec', call.nodeNs, call.binary], env, stdin);
  return execWith(call.binary, [], env, stdin);
}

/** Standard CNI env for an attachment. */
export function cniEnv(
  command: string,
  opts: { id: string; netns?: string; ifname?: string; path?: string; args?: string },
): Record<string, string> {
  const env: Record<string, string> = {
    CNI_COMMAND: command,
    CNI_CONTAINERID: opts.id,
    CNI_IFNAME: opts.ifname ?? 'eth0',
    CNI_PATH: opts.path ?? OUR_BIN,
  };
  if (opts.netns !== undefined) env.CNI_NETNS = opts.netns;
  if (opts.args !== undefined) env.CNI_ARGS = opts.args;
  return env;
}
