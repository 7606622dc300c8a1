// The backup of a pod interface's original attributes, in the reference's file and format
// (https://github.com/containernetworking/plugins/blob/main/plugins/meta/tuning/tuning.go,
// createBackup / restoreBackup): <dataDir>/<containerID>_<ifname>.json, Go's json.MarshalIndent with
// a one-space indent of {mac, promisc, mtu, allmulti, txQLen}, each present only when it was changed.
// So a node can switch between the reference and fastcni with pods running: either DEL restores
// what the other's ADD saved.
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileIn } from '../../src/spec/file-name.js';
import type { LinkTuning } from '../../src/native.js';

/** The backup file of one attachment, below a dataDir as this process opens it. */
export function backupFile(dataDir: string, containerId: string, ifname: string): string {
  return fileIn(dataDir, `${containerId}_${ifname}.json`, 'CNI_CONTAINERID and CNI_IFNAME');
}

/** The file's text, field for field as Go writes configToRestore (omitempty: no MAC "", no MTU 0). */
export function formatBackup(l: LinkTuning): string {
  const o: Record<string, unknown> = {};
  if (l.mac) o.mac = l.mac;
  if (l.promisc !== undefined) o.promisc = l.promisc;
  if (l.mtu) o.mtu = l.mtu;
  if (l.allmulti !== undefined) o.allmulti = l.allmulti;
  if (l.txQLen !== undefined) o.txQLen = l.txQLen;
  return JSON.stringify(o, null, 1);
}

/** Read a backup's text as Go would (keys matched case-insensitively); undefined when it is not one. */
export function parseBackup(text: string): LinkTuning | undefined {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return undefined;
  const field = (name: string) => Object.entries(raw).find(([k]) => k.toLowerCase() === name.toLowerCase())?.[1];
  const out: LinkTuning = {};
  const [mac, promisc, mtu, allmulti, txQLen] = ['mac', 'promisc', 'mtu', 'allmulti', 'txQLen'].map(field);
  const isCount = (v: unknown) => Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 0xffffffff;
  if (
    (mac !== undefined && typeof mac !== 'string') ||
    (mtu !== undefined && !isCount(mtu)) ||
    (txQLen !== undefined && !isCount(txQLen))
  ) {
    return undefined;
  }
  if ((promisc !== undefined && typeof promisc !== 'boolean') || (allmulti !== undefined && typeof allmulti !== 'boolean'))
    return undefined;
  if (mac) out.mac = mac as string;
  if (mtu) out.mtu = mtu as number;
  if (promisc !== undefined) out.promisc = promisc as boolean;
  if (allmulti !== undefined) out.allmulti = allmulti as boolean;
  if (txQLen !== undefined) out.txQLen = txQLen as number;
  return out;
}

/** Write the backup (directory made as needed), whole or not at all: a temporary file renamed into place. */
export async function writeBackup(file: string, l: LinkTuning): Promise<void> {
  await mkdir(join(file, '..'), { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    await writeFile(tmp, formatBackup(l), { mode: 0o600 });
    await rename(tmp, file);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}

/** The backup's text, or undefined when there is none. */
export async function readBackup(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

export async function removeBackup(file: string): Promise<void> {
  await rm(file, { force: true });
}
