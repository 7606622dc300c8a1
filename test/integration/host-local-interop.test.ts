// Our host-local and the reference one (Debian's /usr/lib/cni/host-local, spec ≤ 1.0.0) on one
// data directory: interleaved and concurrent allocations never collide, each side sees and releases
// the other's reservations. host-local touches no network, so no namespaces are needed.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/fixtures.js';
import { hlConf, ours, theirs, type Outcome } from '../helpers/host-local.js';
import { withLock } from '../../src/ipam/lock.js';

const haveReference = existsSync('/usr/lib/cni/host-local');

function addresses(r: Outcome): string[] {
  expect(r.code, r.stdout + r.stderr).toBe(0);
  return (r.json.ips as Array<{ address: string }>).map((i) => i.address);
}

function reservations(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const n of readdirSync(dir)) {
    if (n === 'lock' || n.startsWith('last_reserved_ip.') || n.startsWith('.')) continue;
    out.set(n, readFileSync(join(dir, n), 'latin1'));
  }
  return out;
}

describe.skipIf(!haveReference)('host-local interop with the reference plugin', () => {
  it('interleaved ADDs continue each other’s round robin, dual-stack, without duplicates', async () => {
    const dataDir = tempDir('interop');
    const conf = hlConf({ dataDir, cniVersion: '1.0.0', ranges: [[{ subnet: '10.9.0.0/24' }], [{ subnet: 'fd00:9::/120' }]] });
    const seen: string[] = [];
    for (let i = 0; i < 12; i++) {
      const run = i % 2 === 0 ? ours : theirs;
      seen.push(...addresses(await run('ADD', `c${i}`, conf)));
    }
    expect(new Set(seen).size).toBe(seen.length);
    const v4 = seen.filter((a) => !a.includes(':'));
    expect(v4).toEqual(Array.from({ length: 12 }, (_, i) => `10.9.0.${i + 2}/24`));
    const dir = join(dataDir, 'net1');
    expect(reservations(dir).get('10.9.0.3')).toBe('c1\r\neth0'); // written by the reference
    expect(reservations(dir).get('fd00:9::2')).toBe('c0\r\neth0'); // written by us
    expect(readFileSync(join(dir, 'last_reserved_ip.1'), 'latin1')).toBe('fd00:9::d');
  });

  it('each side reports the other’s reservation as a duplicate and finds it on CHECK', async () => {
    const dataDir = tempDir('interop');
    const conf = hlConf({ dataDir, cniVersion: '0.4.0', ranges: [[{ subnet: '10.9.0.0/24' }]] });
    addresses(await theirs('ADD', 'ref', conf));
    addresses(await ours('ADD', 'our', conf));
    expect((await ours('ADD', 'ref', conf)).json.msg).toBe(
      'failed to allocate for range 0: 10.9.0.2 has been allocated to ref, duplicate allocation is not allowed',
    );
    expect((await theirs('ADD', 'our', conf)).json.msg).toBe(
      'failed to allocate for range 0: 10.9.0.3 has been allocated to our, duplicate allocation is not allowed',
    );
    expect((await ours('CHECK', 'ref', conf)).code).toBe(0);
    expect((await theirs('CHECK', 'our', conf)).code).toBe(0);
    expect((await theirs('ADD', 'x', conf, { env: { CNI_ARGS: 'IP=10.9.0.3' } })).json.msg).toBe(
      'failed to allocate for range 0: requested IP address 10.9.0.3 is not available in range set 10.9.0.1-10.9.0.254',
    );
  });

  it('each side releases the other’s reservations on DEL', async () => {
    const dataDir = tempDir('interop');
    const conf = hlConf({ dataDir, cniVersion: '1.0.0', ranges: [[{ subnet: '10.9.0.0/24' }], [{ subnet: 'fd00:9::/64' }]] });
    for (let i = 0; i < 4; i++) addresses(await (i % 2 ? theirs : ours)('ADD', `c${i}`, conf));
    const dir = join(dataDir, 'net1');
    expect(reservations(dir).size).toBe(8);
    expect((await ours('DEL', 'c1', conf)).code).toBe(0); // theirs → released by ours
    expect((await theirs('DEL', 'c0', conf)).code).toBe(0); // ours → released by theirs
    expect([...reservations(dir).values()].sort()).toEqual(['c2\r\neth0', 'c2\r\neth0', 'c3\r\neth0', 'c3\r\neth0']);
    // our index must notice the reference's removal: c0 can allocate again
    expect(addresses(await ours('ADD', 'c0', conf))).toHaveLength(2);
    expect((await theirs('DEL', 'c0', conf)).code).toBe(0);
    expect((await ours('DEL', 'c2', conf)).code).toBe(0);
    expect((await theirs('DEL', 'c3', conf)).code).toBe(0);
    expect(reservations(dir).size).toBe(0);
    expect((await ours('DEL', 'c3', conf)).code).toBe(0); // idempotent
  });

  it('concurrent ADDs from both implementations never hand out one address twice', async () => {
    const dataDir = tempDir('interop');
    const conf = hlConf({ dataDir, cniVersion: '1.0.0', ranges: [[{ subnet: '10.9.0.0/27' }]] }); // 29 usable
    const runs = Array.from({ length: 24 }, (_, i) => (i % 2 ? theirs : ours)('ADD', `p${i}`, conf));
    const all = (await Promise.all(runs)).flatMap(addresses);
    expect(all).toHaveLength(24);
    expect(new Set(all).size).toBe(24);
    const files = reservations(join(dataDir, 'net1'));
    expect(files.size).toBe(24);
    expect(new Set(files.values()).size).toBe(24);
    const dels = Array.from({ length: 24 }, (_, i) => (i % 2 ? ours : theirs)('DEL', `p${i}`, conf));
    for (const d of await Promise.all(dels)) expect(d.code).toBe(0);
    expect(reservations(join(dataDir, 'net1')).size).toBe(0);
  });

  it('both release legacy id-only files', async () => {
    const dataDir = tempDir('interop');
    const conf = hlConf({ dataDir, cniVersion: '1.0.0', ranges: [[{ subnet: '10.9.0.0/24' }]] });
    addresses(await theirs('ADD', 'other', conf));
    const dir = join(dataDir, 'net1');
    await withLock(join(dir, 'lock'), async () => {
      writeFileSync(join(dir, '10.9.0.50'), 'old1');
      writeFileSync(join(dir, '10.9.0.51'), 'old2');
    });
    expect((await theirs('CHECK', 'old1', conf)).code).toBe(0);
    expect((await ours('CHECK', 'old2', conf)).code).toBe(0);
    expect((await ours('DEL', 'old1', conf)).code).toBe(0);
    expect((await theirs('DEL', 'old2', conf)).code).toBe(0);
    expect([...reservations(dir).keys()]).toEqual(['10.9.0.2']);
  });
});
