// Helpers for static IPAM tests: configs, and one request run in-process, through our binary or the reference's.
import { join } from 'node:path';
import { execWith, OUR_BIN, REF_BIN, type PluginRun } from './run-plugin.js';

/** A network config whose ipam block is static. */
export function staticConf(ipam: Record<string, unknown>, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { cniVersion: '1.0.0', name: 'staticnet', type: 'static', ipam: { type: 'static', ...ipam }, ...extra };
}

/** CNI_* env of one static call (no namespace is touched: CNI_NETNS only has to be set). */
export function staticEnv(cmd: string, cniArgs?: string): Record<string, string> {
  return {
    CNI_COMMAND: cmd,
    CNI_CONTAINERID: 'ctr-static',
    CNI_IFNAME: 'eth0',
    CNI_NETNS: '/run/netns/fcni-t-absent',
    CNI_PATH: OUR_BIN,
    ...(cniArgs !== undefined ? { CNI_ARGS: cniArgs } : {}),
  };
}

/** Our static in-process, through the library's plugin object. */
export async function staticInProcess(cmd: string, conf: unknown, cniArgs?: string): Promise<PluginRun> {
  const { staticIpam } = await import('../../src/index.js');
  const out = await staticIpam.invoke({ env: staticEnv(cmd, cniArgs), stdin: JSON.stringify(conf) });
  return { code: out.exitCode, stdout: out.stdout, stderr: out.stderr, json: out.stdout.trim() ? JSON.parse(out.stdout) : undefined };
}

/** A static binary (ours in dist/cni, or the reference's) exec'd with the same env and stdin. */
export function staticExec(binDir: string, cmd: string, conf: unknown, cniArgs?: string): Promise<PluginRun> {
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', ...staticEnv(cmd, cniArgs) };
  return execWith(join(binDir, 'static'), [], env, JSON.stringify(conf));
}

export { OUR_BIN, REF_BIN };
