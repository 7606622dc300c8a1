// Helpers for host-local tests: configs, in-process invocations of our plugin, execs of the reference.
import { execWith, REF_BIN, type PluginRun } from './run-plugin.js';

export interface HlOptions {
  name?: string;
  cniVersion?: string;
  dataDir: string;
  ranges?: unknown;
  ipam?: Record<string, unknown>;
  extra?: Record<string, unknown>;
}

/** A network config with a host-local ipam block. */
export function hlConf(o: HlOptions): Record<string, unknown> {
  return {
    cniVersion: o.cniVersion ?? '1.0.0',
    name: o.name ?? 'net1',
    type: 'host-local',
    ipam: { type: 'host-local', dataDir: o.dataDir, ...(o.ranges !== undefined ? { ranges: o.ranges } : {}), ...o.ipam },
    ...o.extra,
  };
}

/** CNI_* env for one call (host-local needs no real namespace: CNI_NETNS only has to be set). */
export function hlEnv(cmd: string, id: string, ifname = 'eth0', extra: Record<string, string> = {}): Record<string, string> {
  return { CNI_COMMAND: cmd, CNI_CONTAINERID: id, CNI_IFNAME: ifname, CNI_NETNS: '/run/netns/fcni-t-absent', CNI_PATH: REF_BIN, ...extra };
}

export interface Outcome {
  code: number;
  json?: any;
  stdout: string;
  stderr: string;
}

/** Run our host-local in-process. */
export async function ours(
  cmd: string,
  id: string,
  conf: unknown,
  opts: { ifname?: string; env?: Record<string, string> } = {},
): Promise<Outcome> {
  const { hostLocal: plugin } = await import('../../plugins/host-local/index.js');
  const out = await plugin.invoke({ env: hlEnv(cmd, id, opts.ifname, opts.env), stdin: JSON.stringify(conf) });
  return { code: out.exitCode, stdout: out.stdout, stderr: out.stderr, json: out.stdout.trim() ? JSON.parse(out.stdout) : undefined };
}

/** Exec the reference host-local (Debian's /usr/lib/cni/host-local). */
export async function theirs(
  cmd: string,
  id: string,
  conf: unknown,
  opts: { ifname?: string; env?: Record<string, string> } = {},
): Promise<Outcome> {
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', ...hlEnv(cmd, id, opts.ifname, opts.env) };
  const r: PluginRun = await execWith(`${REF_BIN}/host-local`, [], env, JSON.stringify(conf));
  return { code: r.code, stdout: r.stdout, stderr: r.stderr, json: r.json };
}
