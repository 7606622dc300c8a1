// Torn-write fixtures: host-local through the launcher (with the agent, or falling back to Node) on
// one data directory, and what that directory holds.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runLauncher } from './agent.js';
import { isStateFile } from '../../src/ipam/dir-index.js';
import { hlConf, hlEnv, type Outcome } from './host-local.js';

export const TORN_NET = 'tornnet';

/** A one-range host-local config (CNI 1.1.0, so GC is there) on `dataDir`, with extra top-level keys. */
export function tornConf(dataDir: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return hlConf({ name: TORN_NET, cniVersion: '1.1.0', dataDir, ranges: [[{ subnet: '10.77.0.0/24' }]], extra });
}

/** Run host-local through the launcher; `socketPath` where no agent listens makes it fall back to Node. */
export async function hostLocalVia(socketPath: string, command: string, id: string, conf: Record<string, unknown>): Promise<Outcome> {
  const r = await runLauncher({ plugin: 'host-local', env: hlEnv(command, id), stdin: JSON.stringify(conf), socketPath });
  return { code: r.code, stdout: r.stdout, stderr: r.stderr, json: r.json };
}

/** GC of the torn network keeping these containers' eth0. */
export function gcConf(dataDir: string, keep: string[]): Record<string, unknown> {
  return tornConf(dataDir, { 'cni.dev/valid-attachments': keep.map((containerID) => ({ containerID, ifname: 'eth0' })) });
}

/** The network directory's reservations: address → owner's container ID ("" for an empty file). */
export function reservations(dataDir: string): Record<string, string> {
  const dir = join(dataDir, TORN_NET);
  const out: Record<string, string> = {};
  for (const name of readdirSync(dir).sort()) {
    if (isStateFile(name)) continue;
    out[name] = readFileSync(join(dir, name), 'utf8').split('\r\n')[0]!.trim();
  }
  return out;
}
