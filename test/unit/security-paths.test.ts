// Every path built from input, fed hostile values: each builder either refuses (code 7 naming the
// field) or gives a path inside its directory, and nothing is created outside it. The plugins' real
// ADD/DEL/GC with the same values run in test/integration/security-paths.test.ts.
import { existsSync, mkdirSync, readdirSync, symlinkSync } from 'node:fs';
import { isAbsolute, join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { scratchFile } from '../../plugins/flannel/scratch.js';
import { hostDeviceConfigSchema } from '../../plugins/host-device/config.js';
import { resolveDevice } from '../../plugins/host-device/sysfs.js';
import { backupFile } from '../../plugins/tuning/backup.js';
import { DiskStore } from '../../src/ipam/store.js';
import { ResultsCache } from '../../src/runtime/results-cache.js';
import { CniError } from '../../src/spec/errors.js';
import { fileIn, pathUnder } from '../../src/spec/file-name.js';
import { parseWithSchema } from '../../src/spec/zod-errors.js';
import { tempDir } from '../helpers/fixtures.js';
import { ESCAPE_TARGETS, HOSTILE_NAMES } from '../helpers/security.js';

/** `path` is `dir` itself or below it. */
function inside(dir: string, path: string): boolean {
  const rel = relative(dir, path);
  return rel !== '..' && !rel.startsWith('../') && !isAbsolute(rel);
}

/** What `build` made of a hostile value: a path inside `dir`, or a code-7 refusal. */
function outcome(dir: string, build: () => string): 'inside' | 'refused' {
  let path: string;
  try {
    path = build();
  } catch (e) {
    expect(e).toBeInstanceOf(CniError);
    expect((e as CniError).code).toBe(7);
    return 'refused';
  }
  expect(inside(dir, path), path).toBe(true);
  return 'inside';
}

/** A directory to build in, beside a sibling that must stay empty. */
function place(): { root: string; dir: string; sibling: string } {
  const root = tempDir('sec-paths');
  const dir = join(root, 'state', 'inner');
  const sibling = join(root, 'sibling');
  mkdirSync(dir, { recursive: true });
  mkdirSync(sibling);
  return { root, dir, sibling };
}

describe('path builders with hostile input', () => {
  it('fileIn refuses everything that is not one file name; pathUnder never leaves its directory', () => {
    const { dir } = place();
    for (const v of HOSTILE_NAMES) {
      expect(outcome(dir, () => fileIn(dir, v, 'field'))).toBe('refused');
      outcome(dir, () => pathUnder(dir, v, 'field'));
    }
    expect(fileIn(dir, 'ü'.repeat(10), 'field')).toBe(join(dir, 'ü'.repeat(10)));
    expect(pathUnder(dir, '/devices/pci0000:00/x', 'field')).toBe(join(dir, 'devices/pci0000:00/x'));
    expect(() => fileIn(dir, '../x', 'CNI_CONTAINERID')).toThrow(/^CNI_CONTAINERID: "\.\.\/x" is not a file name/);
  });

  it('tuning backups, flannel scratch files, host-local directories and the results cache stay inside', () => {
    const { root, dir, sibling } = place();
    const cache = new ResultsCache(dir);
    for (const v of HOSTILE_NAMES) {
      outcome(dir, () => backupFile(dir, v, 'eth0'));
      outcome(dir, () => backupFile(dir, 'c1', v));
      outcome(dir, () => scratchFile(dir, v));
      // the store makes its directory at once: a refused name must make nothing anywhere
      outcome(dir, () => new DiskStore(dir, v).dir);
      for (const k of [
        { networkName: v, containerId: 'c', ifname: 'eth0' },
        { networkName: 'n', containerId: v, ifname: 'eth0' },
        { networkName: 'n', containerId: 'c', ifname: v },
      ]) {
        try {
          outcome(join(dir, 'results'), () => cache.file(k));
        } catch (e) {
          // an empty part: libcni's own message, code 999
          if (v !== '') throw e;
        }
      }
    }
    expect(readdirSync(sibling)).toEqual([]);
    expect(readdirSync(root).sort()).toEqual(['sibling', 'state']);
    expect(readdirSync(join(root, 'state'))).toEqual(['inner']);
    for (const abs of ESCAPE_TARGETS) expect(existsSync(abs)).toBe(false);
  });

  it('host-device finds no device outside sysfs through a PCI address or device ID', async () => {
    const { root, dir: sys } = place();
    // what a path escape would find: a "device" bound to a kernel driver, with a net directory,
    // beside the fake sysfs
    mkdirSync(join(root, 'state', 'evil', 'net', 'evil0'), { recursive: true });
    mkdirSync(join(root, 'e1000e'));
    symlinkSync(join(root, 'e1000e'), join(root, 'state', 'evil', 'driver'));
    const parse = (extra: Record<string, unknown>) =>
      parseWithSchema(hostDeviceConfigSchema, { cniVersion: '1.0.0', name: 'hd', type: 'host-device', ...extra });
    for (const v of ['../../../../evil', '../../../../../state/evil', '..', '.', 'a/../../b']) {
      // the schema refuses such addresses already: the builder is checked without it
      const viaPci = { ...parse({ pciBusID: '0000:00:03.0' }), pciBusID: v };
      const viaId = { ...parse({ runtimeConfig: { deviceID: '0000:00:03.0' } }), runtimeConfig: { deviceID: v } };
      for (const conf of [viaPci, viaId]) {
        const found = await resolveDevice(conf, sys).catch((e: unknown) => e);
        expect(found, `${v}`).toBeInstanceOf(CniError);
        expect((found as CniError).code).toBe(7);
      }
    }
  });
});
