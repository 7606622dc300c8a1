// The rendered delegate config kept for DEL, as flannel's plugin keeps it
// (https://github.com/flannel-io/cni-plugin/blob/main/flannel.go, saveScratchNetConf and
// consumeScratchNetConf): <dataDir>/<containerID>, mode 0600, directory 0700, synced to disk.
// Written whole or not at all (a temporary file renamed into place), where the reference truncates
// and writes in place.
import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileIn } from '../../src/spec/file-name.js';

/** The file of one container below a dataDir as this process opens it. */
export function scratchFile(dataDir: string, containerId: string): string {
  return fileIn(dataDir, containerId, 'CNI_CONTAINERID');
}

/** The file's bytes, or undefined when there is none. */
export async function readScratch(file: string): Promise<Buffer | undefined> {
  try {
    return await readFile(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

/** Write the file (its directory made 0700 as needed), synced before it takes the name. */
export async function writeScratch(file: string, bytes: Uint8Array | string): Promise<void> {
  await mkdir(join(file, '..'), { recursive: true, mode: 0o700 });
  const tmp = `${file}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    const fh = await open(tmp, 'wx', 0o600);
    try {
      await fh.writeFile(bytes);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, file);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}

export async function removeScratch(file: string): Promise<void> {
  await rm(file, { force: true });
}
