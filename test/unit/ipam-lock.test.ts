// withLock: one holder at a time per path, in-process and across processes; a failing holder does
// not break the queue.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/fixtures.js';
import { withLock } from '../../src/ipam/lock.js';

describe('withLock', () => {
  it('serialises holders of one path and survives a throwing holder', async () => {
    const lock = join(tempDir('lock'), 'lock');
    let inside = 0;
    let maxInside = 0;
    const order: number[] = [];
    const runs = Array.from({ length: 8 }, (_, i) =>
      withLock(lock, async () => {
        inside++;
        maxInside = Math.max(maxInside, inside);
        await new Promise((r) => setTimeout(r, 2));
        order.push(i);
        inside--;
        if (i === 3) throw new Error('boom');
        return i;
      }),
    );
    const results = await Promise.allSettled(runs);
    expect(maxInside).toBe(1);
    expect(order).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(results[3]).toMatchObject({ status: 'rejected' });
    expect(results[7]).toEqual({ status: 'fulfilled', value: 7 });
  });

  it('holds a real flock other processes see', async () => {
    const lock = join(tempDir('lock'), 'lock');
    await withLock(lock, async () => {
      const probe = spawnSync('flock', ['-n', '-x', lock, 'true']);
      expect(probe.status).toBe(1); // would block
    });
    await new Promise((r) => setTimeout(r, 50));
    expect(spawnSync('flock', ['-w', '2', '-x', lock, 'true']).status).toBe(0);
  });
});
