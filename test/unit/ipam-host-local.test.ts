// host-local in-process against temp directories: allocation order, files, errors, release, CHECK.
import { existsSync, linkSync, readdirSync, readFileSync, statSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/fixtures.js';
import { hlConf, ours } from '../helpers/host-local.js';
import { withLock } from '../../src/ipam/lock.js';
import { DiskStore, forgetSpares } from '../../src/ipam/store.js';

const reservations = (dir: string) =>
  readdirSync(dir)
    .filter((n) => /^[0-9a-f.:]+$/.test(n) && n.includes(n.includes(':') ? ':' : '.'))
    .sort();

/** The spares directory's files once there are `count` of them (refills run after reservations, off their path). */
async function spares(dir: string, count: number): Promise<string[]> {
  const sd = join(dir, '.fastcni-spares');
  const list = () =>
    existsSync(sd)
      ? readdirSync(sd)
          .sort()
          .map((n) => join(sd, n))
      : [];
  const deadline = Date.now() + 5000;
  while (list().length !== count && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  expect(list()).toHaveLength(count);
  return list();
}

/** A network whose first ADD (c0) is done and whose spares are made, in a process that had none. */
async function firstAddWithSpares(): Promise<{ dataDir: string; conf: Record<string, unknown>; dir: string; made: string[] }> {
  const dataDir = tempDir('hl');
  const conf = hlConf({ dataDir, ranges: [[{ subnet: '10.9.0.0/24' }]] });
  forgetSpares();
  expect((await ours('ADD', 'c0', conf)).code).toBe(0);
  const dir = join(dataDir, 'net1');
  // made after the reservation, off its path, in a directory of their own
  return { dataDir, conf, dir, made: await spares(dir, 4) };
}

describe('host-local ADD', () => {
  it('allocates .2 first (gateway .1 skipped), writes the reference files and result', async () => {
    const dataDir = tempDir('hl');
    const conf = hlConf({ dataDir, ranges: [[{ subnet: '10.9.0.0/24' }]], ipam: { routes: [{ dst: '0.0.0.0/0' }] } });
    const r = await ours('ADD', 'c1', conf);
    expect(r.code).toBe(0);
    expect(r.json).toMatchObject({
      cniVersion: '1.0.0',
      ips: [{ address: '10.9.0.2/24', gateway: '10.9.0.1' }],
      routes: [{ dst: '0.0.0.0/0' }],
    });
    const dir = join(dataDir, 'net1');
    expect(readFileSync(join(dir, '10.9.0.2'), 'latin1')).toBe('c1\r\neth0');
    expect(statSync(join(dir, '10.9.0.2')).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(dir, 'last_reserved_ip.0'), 'latin1')).toBe('10.9.0.2');
    expect(statSync(join(dir, 'last_reserved_ip.0')).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, 'lock')).isFile()).toBe(true);
  });

  it('never leaves an address file without its owner: a stale staging file from a crash is harmless', async () => {
    const dataDir = tempDir('hl');
    const conf = hlConf({ dataDir, ranges: [[{ subnet: '10.9.0.0/24' }]] });
    expect((await ours('ADD', 'c0', conf)).code).toBe(0);
    const dir = join(dataDir, 'net1');
    await spares(dir, 4);
    // what a SIGKILL between writing and linking would leave behind, in a process without spares
    writeFileSync(join(dir, '.fastcni-reserving'), 'crashed\r\neth0');
    forgetSpares();
    const r = await ours('ADD', 'c1', conf);
    expect(r.json.ips[0].address).toBe('10.9.0.3/24');
    expect(readFileSync(join(dir, '10.9.0.3'), 'latin1')).toBe('c1\r\neth0');
    expect(reservations(dir)).toEqual(['10.9.0.2', '10.9.0.3']);
    await spares(dir, 4);
    expect(existsSync(join(dir, '.fastcni-reserving'))).toBe(false);
  });

  it('writes reservations into spares made ahead, never into one still linked to an address, and keeps the index valid', async () => {
    const { dataDir, conf, dir, made } = await firstAddWithSpares();
    for (const f of made) expect(readFileSync(f, 'latin1')).toBe('');
    const inodes = made.map((f) => statSync(f).ino);
    expect((await ours('ADD', 'c1', conf)).json.ips[0].address).toBe('10.9.0.3/24');
    expect(inodes).toContain(statSync(join(dir, '10.9.0.3')).ino);
    expect(readFileSync(join(dir, '10.9.0.3'), 'latin1')).toBe('c1\r\neth0');
    // making spares did not change the network directory: the index is still trusted as kept in memory
    const store = new DiskStore(dataDir, 'net1');
    await spares(dir, 4);
    await store.transaction(() => undefined);
    expect(store.lastIndexSource).toBe('memory');
    // a crash between link and unlink: every spare name is a second link to c0's reservation
    for (const f of await spares(dir, 4)) {
      unlinkSync(f);
      linkSync(join(dir, '10.9.0.2'), f);
    }
    expect((await ours('ADD', 'c2', conf)).json.ips[0].address).toBe('10.9.0.4/24');
    expect(readFileSync(join(dir, '10.9.0.2'), 'latin1')).toBe('c0\r\neth0');
    expect(readFileSync(join(dir, '10.9.0.4'), 'latin1')).toBe('c2\r\neth0');
    expect(statSync(join(dir, '10.9.0.4')).ino).not.toBe(statSync(join(dir, '10.9.0.2')).ino);
    expect((await ours('DEL', 'c1', conf)).code).toBe(0);
    expect(reservations(dir)).toEqual(['10.9.0.2', '10.9.0.4']);
  });

  it('keeps one index and one set of spares per directory, whichever path reaches it', async () => {
    const { dataDir, conf, dir, made } = await firstAddWithSpares();
    const inodes = made.map((f) => statSync(f).ino);
    // the same directory by another path, as the agent reaches a caller's files through its root
    const link = join(tempDir('hl-link'), 'data');
    symlinkSync(dataDir, link);
    expect((await ours('ADD', 'c1', { ...conf, ipam: { ...(conf.ipam as object), dataDir: link } })).json.ips[0].address).toBe(
      '10.9.0.3/24',
    );
    expect(inodes).toContain(statSync(join(dir, '10.9.0.3')).ino);
    // that path gone at once, as a caller's descriptors close with the agent's answer: the spare
    // taken is made again all the same (spares() waits for the fourth)
    unlinkSync(link);
    expect((await spares(dir, 4)).filter((f) => !inodes.includes(statSync(f).ino))).toHaveLength(1);
    const store = new DiskStore(dataDir, 'net1');
    await store.transaction(() => undefined);
    expect(store.lastIndexSource).toBe('memory');
  });

  it('a new process adopts the spares an earlier one left: emptied, and without those still linked to an address', async () => {
    const dataDir = tempDir('hl');
    const conf = hlConf({ dataDir, ranges: [[{ subnet: '10.9.0.0/24' }]] });
    expect((await ours('ADD', 'c0', conf)).code).toBe(0);
    const dir = join(dataDir, 'net1');
    const [written, linked, ...rest] = await spares(dir, 4);
    expect(statSync(join(dir, '10.9.0.2')).nlink).toBe(1);
    writeFileSync(written!, 'crashed\r\neth0'); // killed after writing, before linking
    unlinkSync(linked!);
    linkSync(join(dir, '10.9.0.2'), linked!); // killed after linking, before unlinking
    forgetSpares();
    expect((await ours('ADD', 'c1', conf)).code).toBe(0);
    const now = await spares(dir, 4);
    expect(now).toContain(written);
    expect(readFileSync(written!, 'latin1')).toBe('');
    for (const f of rest) expect(now).toContain(f);
    // the second name of c0's reservation is gone (a new spare may have its name, not its inode)
    const c0 = statSync(join(dir, '10.9.0.2'));
    expect(c0.nlink).toBe(1);
    for (const f of now) expect(statSync(f).ino).not.toBe(c0.ino);
    expect(readFileSync(join(dir, '10.9.0.2'), 'latin1')).toBe('c0\r\neth0');
    expect(reservations(dir)).toEqual(['10.9.0.2', '10.9.0.3']);
  });

  it('continues after last_reserved_ip, wraps round and reuses released addresses last', async () => {
    const dataDir = tempDir('hl');
    const conf = hlConf({ dataDir, ranges: [[{ subnet: '10.9.0.0/29' }]] }); // .1 gateway, .2-.6 usable
    const got: string[] = [];
    for (const id of ['a', 'b', 'c']) got.push((await ours('ADD', id, conf)).json.ips[0].address);
    expect(got).toEqual(['10.9.0.2/29', '10.9.0.3/29', '10.9.0.4/29']);
    expect((await ours('DEL', 'a', conf)).code).toBe(0);
    // next after .4 is .5, .6, then wrap to the start, skipping the gateway: .2
    for (const id of ['d', 'e', 'f']) got.push((await ours('ADD', id, conf)).json.ips[0].address);
    expect(got.slice(3)).toEqual(['10.9.0.5/29', '10.9.0.6/29', '10.9.0.2/29']);
    const full = await ours('ADD', 'g', conf);
    expect(full.code).toBe(1);
    expect(full.json).toEqual({
      code: 999,
      msg: 'failed to allocate for range 0: no IP addresses available in range set: 10.9.0.1-10.9.0.6',
    });
  });

  it('skips a gateway in the middle of the range', async () => {
    const dataDir = tempDir('hl');
    const conf = hlConf({
      dataDir,
      ranges: [[{ subnet: '10.9.0.0/24', rangeStart: '10.9.0.10', rangeEnd: '10.9.0.12', gateway: '10.9.0.11' }]],
    });
    const a = await ours('ADD', 'a', conf);
    const b = await ours('ADD', 'b', conf);
    expect([a.json.ips[0], b.json.ips[0]]).toEqual([
      { address: '10.9.0.10/24', gateway: '10.9.0.11' },
      { address: '10.9.0.12/24', gateway: '10.9.0.11' },
    ]);
    expect((await ours('ADD', 'c', conf)).json.msg).toBe(
      'failed to allocate for range 0: no IP addresses available in range set: 10.9.0.10-10.9.0.12',
    );
  });

  it('walks several ranges of one set in order', async () => {
    const dataDir = tempDir('hl');
    const conf = hlConf({ dataDir, ranges: [[{ subnet: '10.9.0.0/30' }, { subnet: '10.9.1.0/30' }]] });
    const a = await ours('ADD', 'a', conf);
    const b = await ours('ADD', 'b', conf);
    expect([a.json.ips[0], b.json.ips[0]]).toEqual([
      { address: '10.9.0.2/30', gateway: '10.9.0.1' },
      { address: '10.9.1.2/30', gateway: '10.9.1.1' },
    ]);
    const c = await ours('ADD', 'c', conf);
    expect(c.json.msg).toBe('failed to allocate for range 0: no IP addresses available in range set: 10.9.0.1-10.9.0.2,10.9.1.1-10.9.1.2');
  });

  it('dual-stack and multiple range sets give one address per set', async () => {
    const dataDir = tempDir('hl');
    const conf = hlConf({ dataDir, ranges: [[{ subnet: '10.9.0.0/24' }], [{ subnet: 'fd00:9::/64' }], [{ subnet: '10.10.0.0/24' }]] });
    const r = await ours('ADD', 'a', conf);
    expect(r.json.ips).toEqual([
      { address: '10.9.0.2/24', gateway: '10.9.0.1' },
      { address: 'fd00:9::2/64', gateway: 'fd00:9::1' },
      { address: '10.10.0.2/24', gateway: '10.10.0.1' },
    ]);
    const dir = join(dataDir, 'net1');
    expect(
      readdirSync(dir)
        .filter((n) => n.startsWith('last_reserved_ip.'))
        .sort(),
    ).toEqual(['last_reserved_ip.0', 'last_reserved_ip.1', 'last_reserved_ip.2']);
    expect(readFileSync(join(dir, 'last_reserved_ip.1'), 'latin1')).toBe('fd00:9::2');
    expect((await ours('DEL', 'a', conf)).code).toBe(0);
    expect(reservations(dir)).toEqual([]);
  });

  it('refuses a second allocation for the same attachment', async () => {
    const dataDir = tempDir('hl');
    const conf = hlConf({ dataDir, ranges: [[{ subnet: '10.9.0.0/24' }]] });
    await ours('ADD', 'a', conf);
    const again = await ours('ADD', 'a', conf);
    expect(again.json).toEqual({
      code: 999,
      msg: 'failed to allocate for range 0: 10.9.0.2 has been allocated to a, duplicate allocation is not allowed',
    });
    expect((await ours('ADD', 'a', conf, { ifname: 'eth1' })).json.ips[0].address).toBe('10.9.0.3/24');
  });

  it('honours requested IPs from CNI_ARGS, args.cni.ips and runtimeConfig.ips with the reference errors', async () => {
    const dataDir = tempDir('hl');
    const ranges = [[{ subnet: '10.9.0.0/24' }], [{ subnet: 'fd00:9::/64' }]];
    const conf = hlConf({ dataDir, ranges });
    expect((await ours('ADD', 'a', conf, { env: { CNI_ARGS: 'IgnoreUnknown=1;K8S_POD_NAME=x;IP=10.9.0.50' } })).json.ips[0].address).toBe(
      '10.9.0.50/24',
    );
    const viaArgs = hlConf({
      dataDir,
      ranges,
      extra: { args: { cni: { ips: ['fd00:9::77'] } }, runtimeConfig: { ips: ['10.9.0.60/24'] } },
    });
    expect((await ours('ADD', 'b', viaArgs)).json.ips.map((i: { address: string }) => i.address)).toEqual([
      '10.9.0.60/24',
      'fd00:9::77/64',
    ]);
    expect((await ours('ADD', 'c', conf, { env: { CNI_ARGS: 'IP=10.9.0.1' } })).json.msg).toBe(
      "failed to allocate for range 0: requested ip 10.9.0.1 is subnet's gateway",
    );
    expect((await ours('ADD', 'c', conf, { env: { CNI_ARGS: 'IP=10.9.0.50' } })).json.msg).toBe(
      'failed to allocate for range 0: requested IP address 10.9.0.50 is not available in range set 10.9.0.1-10.9.0.254',
    );
    const outside = await ours('ADD', 'c', conf, { env: { CNI_ARGS: 'IP=10.77.0.5' } });
    expect(outside.json.msg).toBe('failed to allocate all requested IPs: 10.77.0.5');
    expect(existsIn(join(dataDir, 'net1'), 'c')).toBe(false); // what it got in both sets was released
    expect((await ours('ADD', 'c', conf, { env: { CNI_ARGS: 'FOO=1' } })).json).toMatchObject({ msg: 'ARGS: unknown args ["FOO=1"]' });
  });

  it('reports dns from resolvConf', async () => {
    const dataDir = tempDir('hl');
    const resolv = join(dataDir, 'resolv.conf');
    writeFileSync(
      resolv,
      '# c\n; c\nnameserver 10.0.0.53\nnameserver 10.0.0.54\ndomain example.com\nsearch a.example b.example\noptions ndots:2 edns0\n',
    );
    const r = await ours('ADD', 'a', hlConf({ dataDir, ranges: [[{ subnet: '10.9.0.0/24' }]], ipam: { resolvConf: resolv } }));
    expect(r.json.dns).toEqual({
      nameservers: ['10.0.0.53', '10.0.0.54'],
      domain: 'example.com',
      search: ['a.example', 'b.example'],
      options: ['ndots:2', 'edns0'],
    });
  });
});

function existsIn(dir: string, id: string): boolean {
  return readdirSync(dir).some(
    (n) => !n.startsWith('.') && n !== 'lock' && !n.startsWith('last_') && readFileSync(join(dir, n), 'latin1').startsWith(`${id}\r\n`),
  );
}

describe('host-local DEL and CHECK', () => {
  it('releases by (id, ifname), leaves other interfaces, is idempotent', async () => {
    const dataDir = tempDir('hl');
    const conf = hlConf({ dataDir, ranges: [[{ subnet: '10.9.0.0/24' }]] });
    await ours('ADD', 'a', conf);
    await ours('ADD', 'a', conf, { ifname: 'eth1' });
    expect((await ours('DEL', 'a', conf)).code).toBe(0);
    const dir = join(dataDir, 'net1');
    expect(reservations(dir)).toEqual(['10.9.0.3']);
    expect((await ours('DEL', 'a', conf)).code).toBe(0);
    expect(reservations(dir)).toEqual(['10.9.0.3']);
    expect((await ours('CHECK', 'a', conf, { ifname: 'eth1' })).code).toBe(0);
  });

  it('releases and finds legacy files holding only the container ID', async () => {
    const dataDir = tempDir('hl');
    const conf = hlConf({ dataDir, ranges: [[{ subnet: '10.9.0.0/24' }]] });
    await ours('ADD', 'other', conf);
    const dir = join(dataDir, 'net1');
    // as an old host-local wrote it (under the flock, as every writer of the directory does)
    await withLock(join(dir, 'lock'), async () => writeFileSync(join(dir, '10.9.0.40'), 'old\n'));
    expect((await ours('CHECK', 'old', conf)).code).toBe(0);
    expect((await ours('ADD', 'old', conf)).json.msg).toBe(
      'failed to allocate for range 0: 10.9.0.40 has been allocated to old, duplicate allocation is not allowed',
    );
    expect((await ours('DEL', 'old', conf)).code).toBe(0);
    expect(reservations(dir)).toEqual(['10.9.0.2']);
    const missing = await ours('CHECK', 'old', conf);
    expect(missing.json).toEqual({ code: 999, msg: 'host-local: Failed to find address added by container old' });
  });
});
