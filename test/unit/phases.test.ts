import { describe, expect, it } from 'vitest';
import { phaseTotals, recordPhase, timePhase } from '../../src/phases.js';

describe('phase totals', () => {
  it('sums per name, times failures too, and restarts on reset', async () => {
    phaseTotals(true);
    recordPhase('x.ADD', 1.5);
    recordPhase('x.ADD', 2.5);
    await timePhase('y', () => new Promise((r) => setTimeout(r, 20)));
    await expect(timePhase('z', () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    const t = phaseTotals(true);
    expect(t.map((p) => p.name)).toEqual(['x.ADD', 'y', 'z']);
    expect(t[0]).toEqual({ name: 'x.ADD', totalMs: 4, count: 2 });
    expect(t[1]!.totalMs).toBeGreaterThanOrEqual(19);
    expect(t[2]!.count).toBe(1);
    expect(phaseTotals()).toEqual([]);
  });
});
