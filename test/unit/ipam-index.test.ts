// The directory index: trusted while the directory is unchanged, rebuilt after a foreign change or
// when corrupt; and GC of reservations whose attachment is gone.
import { readdirSync, readFileSync, statSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/fixtures.js';
import { hlConf, ours } from '../helpers/host-local.js';
import { DiskStore, setSpareRefills } from '../../src/ipam/store.js';
import { dropIndexCache, INDEX_FILE } from '../../src/ipam/dir-index.js';
import { withLock } from '../../src/ipam/lock.js';
import { definePlugin } from '../../src/skel/define-plugin.js';
import { hostLocalDefinition } from '../../plugins/host-local/host-local.js';

const subnet = [[{ subnet: '10.9.0.0/24' }]];

async function sourceOf(store: DiskStore): Promise<string | undefined> {
  await store.transaction(() => undefined);
  return store.lastIndexSource;
}

/** Change the directory as the reference would: under the flock, files only. */
function foreign(dir: string, fn: () => void): Promise<void> {
  return withLock(join(dir, 'lock'), async () => fn());
}

// These tests read the index's records one by one: no spares in this file (the first refill makes
// the spares directory, which adds a record).
beforeAll(() => setSpareRefills(false));

describe('directory index', () => {
  it('is used from memory, then from its file, while the directory is unchanged', async () => {
    const dataDir = tempDir('idx');
    const conf = hlConf({ dataDir, ranges: subnet });
    await ours('ADD', 'a', conf);
    const store = new DiskStore(dataDir, 'net1');
    expect(await sourceOf(store)).toBe('memory');
    for (let i = 0; i < 5; i++) {
      await ours('ADD', `more${i}`, conf);
      expect(await sourceOf(store)).toBe('memory');
    }
    dropIndexCache();
    expect(await sourceOf(store)).toBe('file');
    const lines = readFileSync(join(store.dir, INDEX_FILE), 'utf8').split('\n');
    expect(lines[0]).toBe('fastcni-index 2');
    for (const line of lines.slice(1, -1)) expect(line).toMatch(/^[0-9a-f]{64} \{/);
    expect(JSON.parse(lines[1]!.slice(65)).entries).toMatchObject({ '10.9.0.2': 'a\r\neth0' });
    expect(JSON.parse(lines.at(-2)!.slice(65))).toMatchObject({ set: { '10.9.0.7': 'more4\r\neth0' }, del: [] });
  });

  it('appends one short record per change instead of rewriting the index', async () => {
    const dataDir = tempDir('idx');
    const conf = hlConf({ dataDir, ranges: [[{ subnet: '10.9.0.0/22' }]] });
    await ours('ADD', 'a', conf);
    const path = join(dataDir, 'net1', INDEX_FILE);
    const sizes: number[] = [];
    for (let i = 0; i < 20; i++) {
      await ours('ADD', `p${i}`, conf);
      sizes.push(statSync(path).size);
    }
    const steps = sizes.slice(1).map((s, i) => s - sizes[i]!);
    // every step is one delta record of about the same size, whatever the number of entries
    expect(Math.max(...steps)).toBeLessThan(Math.min(...steps) + 8);
    expect(readFileSync(path, 'utf8').split('\n').length).toBe(2 + 21);
    await ours('DEL', 'p3', conf);
    dropIndexCache();
    const store = new DiskStore(dataDir, 'net1');
    expect(await sourceOf(store)).toBe('file');
    expect((await ours('CHECK', 'p3', conf)).code).toBe(1);
    expect((await ours('CHECK', 'p19', conf)).code).toBe(0);
  });

  it('is compacted into one snapshot once the journal outgrows the entries', async () => {
    const dataDir = tempDir('idx');
    const conf = hlConf({ dataDir, ranges: subnet });
    const path = join(dataDir, 'net1', INDEX_FILE);
    let most = 0;
    for (let i = 0; i < 60; i++) {
      await ours('ADD', 'x', conf);
      await ours('DEL', 'x', conf);
      most = Math.max(most, readFileSync(path, 'utf8').split('\n').length);
    }
    expect(most).toBeLessThanOrEqual(2 + 64 + 2);
    dropIndexCache();
    expect(await sourceOf(new DiskStore(dataDir, 'net1'))).toBe('file');
    expect((await ours('ADD', 'y', conf)).json.ips[0].address).toMatch(/^10\.9\.0\.\d+\/24$/);
  });

  it.each([
    ['a torn last record', (t: string) => t.slice(0, -10)],
    ['a last record without its newline', (t: string) => t.slice(0, -1)],
    [
      'a delta with a bad checksum',
      (t: string) =>
        t.replace(/\n([0-9a-f])([0-9a-f]{63} \{"stamp"[^\n]*"set")/, (_m, c: string, rest: string) => `\n${c === '0' ? '1' : '0'}${rest}`),
    ],
    [
      'a delta before any snapshot',
      (t: string) =>
        t
          .split('\n')
          .filter((_l, i) => i !== 1)
          .join('\n'),
    ],
  ])('%s is detected and the index rebuilt', async (_label, mangle) => {
    const dataDir = tempDir('idx');
    const conf = hlConf({ dataDir, ranges: subnet });
    await ours('ADD', 'a', conf);
    await ours('ADD', 'b', conf);
    const path = join(dataDir, 'net1', INDEX_FILE);
    const text = readFileSync(path, 'utf8');
    const mangled = mangle(text);
    expect(mangled).not.toBe(text);
    writeFileSync(path, mangled, { flag: 'r+' });
    truncateSync(path, Buffer.byteLength(mangled));
    const store = new DiskStore(dataDir, 'net1');
    expect(await sourceOf(store)).toBe('rebuilt');
    expect((await ours('CHECK', 'b', conf)).code).toBe(0);
    expect((await ours('ADD', 'c', conf)).json.ips[0].address).toBe('10.9.0.4/24');
  });

  it('is rewritten whole, not appended to, when another process changed it since we read it', async () => {
    const dataDir = tempDir('idx');
    const conf = hlConf({ dataDir, ranges: subnet });
    await ours('ADD', 'a', conf);
    const store = new DiskStore(dataDir, 'net1');
    expect(await sourceOf(store)).toBe('memory');
    // another fastcni process (fallback path) appends its own record under the flock
    dropIndexCache();
    await ours('ADD', 'b', conf);
    // this process's memory copy is gone; a foreign change on top: rebuilt, then snapshot
    const dir = store.dir;
    await foreign(dir, () => writeFileSync(join(dir, '10.9.0.50'), 'f\r\neth0'));
    expect(await sourceOf(store)).toBe('rebuilt');
    const lines = readFileSync(join(dir, INDEX_FILE), 'utf8').split('\n');
    expect(lines.length).toBe(3);
    expect(Object.keys(JSON.parse(lines[1]!.slice(65)).entries).sort()).toEqual(['10.9.0.2', '10.9.0.3', '10.9.0.50']);
  });

  it('is rebuilt when a foreign file appears, and the new owner is then known', async () => {
    const dataDir = tempDir('idx');
    const conf = hlConf({ dataDir, ranges: subnet });
    await ours('ADD', 'a', conf);
    const dir = join(dataDir, 'net1');
    await foreign(dir, () => writeFileSync(join(dir, '10.9.0.77'), 'x\r\neth0'));
    const store = new DiskStore(dataDir, 'net1');
    expect(await sourceOf(store)).toBe('rebuilt');
    expect(await sourceOf(store)).toBe('memory');
    expect((await ours('ADD', 'x', conf)).json.msg).toBe(
      'failed to allocate for range 0: 10.9.0.77 has been allocated to x, duplicate allocation is not allowed',
    );
    expect((await ours('CHECK', 'x', conf)).code).toBe(0);
    expect((await ours('DEL', 'x', conf)).code).toBe(0);
    expect(readdirSync(dir)).not.toContain('10.9.0.77');
  });

  it('is rebuilt when a file disappears behind its back', async () => {
    const dataDir = tempDir('idx');
    const conf = hlConf({ dataDir, ranges: subnet });
    await ours('ADD', 'a', conf);
    const dir = join(dataDir, 'net1');
    await foreign(dir, () => unlinkSync(join(dir, '10.9.0.2')));
    expect((await ours('CHECK', 'a', conf)).json?.msg).toBe('host-local: Failed to find address added by container a');
    // a may allocate again: no stale "duplicate" from the index
    expect((await ours('ADD', 'a', conf)).json.ips[0].address).toBe('10.9.0.3/24');
  });

  it.each([
    ['garbage', (t: string) => t.replace(/"a\\r\\neth0"/, '"z\\r\\neth0"')],
    ['partial', (t: string) => t.slice(0, Math.floor(t.length / 2))],
    ['empty', () => ''],
    ['bad header', (t: string) => `x${t.slice(1)}`],
  ])('a %s index is detected and rebuilt', async (_label, mangle) => {
    const dataDir = tempDir('idx');
    const conf = hlConf({ dataDir, ranges: subnet });
    await ours('ADD', 'a', conf);
    const path = join(dataDir, 'net1', INDEX_FILE);
    // rewrite in place (truncate + write): the directory itself does not change
    writeFileSync(path, mangle(readFileSync(path, 'utf8')), { flag: 'r+' });
    if (_label !== 'garbage') writeFileSync(path, mangle(readFileSync(path, 'utf8')));
    const store = new DiskStore(dataDir, 'net1');
    expect(await sourceOf(store)).toBe('rebuilt');
    expect((await ours('CHECK', 'a', conf)).code).toBe(0);
    expect((await ours('CHECK', 'z', conf)).code).toBe(1);
  });

  it('the stat check sees a change made right after our commit (multigrain timestamps)', async () => {
    const dataDir = tempDir('idx');
    const conf = hlConf({ dataDir, ranges: subnet });
    const store = new DiskStore(dataDir, 'net1');
    for (let i = 0; i < 20; i++) {
      await ours('ADD', `c${i}`, conf);
      const dir = store.dir;
      await foreign(dir, () => writeFileSync(join(dir, `10.9.1.${i}`), `f${i}\r\neth0`));
      expect(await sourceOf(store)).toBe('rebuilt');
    }
  });
});

describe('host-local GC', () => {
  it('releases reservations of attachments not in the valid list', async () => {
    const dataDir = tempDir('gc');
    const conf = hlConf({ dataDir, cniVersion: '1.1.0', ranges: [[{ subnet: '10.9.0.0/24' }], [{ subnet: 'fd00:9::/64' }]] });
    for (const id of ['keep', 'gone1', 'gone2']) await ours('ADD', id, conf);
    await ours('ADD', 'keep', conf, { ifname: 'eth1' });
    const dir = join(dataDir, 'net1');
    await foreign(dir, () => {
      writeFileSync(join(dir, '10.9.0.100'), 'keep'); // legacy file of a valid container: kept
      writeFileSync(join(dir, '10.9.0.101'), 'gone3'); // legacy file of a gone container: released
      writeFileSync(join(dir, 'notes'), 'gone9\r\neth0'); // not an address: never touched by GC
    });
    const plugin = definePlugin(hostLocalDefinition);
    const gcConf = { ...conf, 'cni.dev/valid-attachments': [{ containerID: 'keep', ifname: 'eth0' }] };
    const out = await plugin.invoke({ env: { CNI_COMMAND: 'GC', CNI_PATH: '/usr/lib/cni' }, stdin: JSON.stringify(gcConf) });
    expect(out.exitCode).toBe(0);
    const left = readdirSync(dir)
      .filter((n) => !n.startsWith('.') && n !== 'lock' && !n.startsWith('last_'))
      .sort();
    expect(left).toEqual(['10.9.0.100', '10.9.0.2', 'fd00:9::2', 'notes']);
    expect((await ours('CHECK', 'keep', conf)).code).toBe(0);
    expect((await ours('CHECK', 'gone1', conf)).code).toBe(1);
  });
});
