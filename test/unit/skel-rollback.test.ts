import { describe, expect, it } from 'vitest';
import { withRollback } from '../../src/skel/rollback.js';

describe('withRollback', () => {
  it('runs undos newest first on failure and rethrows the original error', async () => {
    const order: string[] = [];
    const logs: string[] = [];
    await expect(
      withRollback(
        async (rb) => {
          rb.push(() => order.push('first'));
          rb.push(() => {
            throw new Error('undo broke');
          });
          rb.push(async () => order.push('third'));
          throw new Error('step failed');
        },
        (l) => logs.push(l),
      ),
    ).rejects.toThrow('step failed');
    expect(order).toEqual(['third', 'first']);
    expect(logs).toEqual(['rollback step failed: undo broke']);
  });

  it('runs no undo on success', async () => {
    let undone = false;
    const answer = await withRollback(async (rb) => {
      rb.push(() => {
        undone = true;
      });
      return 42;
    });
    expect(answer).toBe(42);
    expect(undone).toBe(false);
  });
});
