// A churn run: random ADD, DEL and CHECK on a LoadNet from a seeded generator (the same seed replays
// the same steps), with the invariants checked after every step. The churn test and `make soak` both
// run it. No vitest import (see load.ts).
import { execFileSync } from 'node:child_process';
import { checkInvariants, type LivePod, type LoadNet } from './load.js';

export type ChurnOp = 'ADD' | 'DEL' | 'CHECK';

/** The seed to use: FASTCNI_CHURN_SEED when set (a replay), a fresh one otherwise. */
export function churnSeed(): number {
  const given = process.env.FASTCNI_CHURN_SEED;
  if (given !== undefined && given !== '') {
    const n = Number(given);
    if (!Number.isInteger(n) || n < 0 || n > 0xffffffff)
      throw new Error(`FASTCNI_CHURN_SEED must be an integer 0..4294967295, got ${given}`);
    return n;
  }
  return Math.floor(Math.random() * 0x100000000);
}

/** mulberry32: a small, well-known 32-bit generator; enough to pick steps reproducibly. */
function generator(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface ChurnOptions {
  net: LoadNet;
  seed: number;
  /** stop after this many steps … */
  steps?: number;
  /** … or at this time (Date.now()) … */
  until?: number;
  /** … or after this many ADD/DEL cycles (DELs that succeeded), whichever comes first */
  cycles?: number;
  /** at most this many pods alive at once */
  maxPods: number;
  /** namespace names start with this (the caller removes what is left of them on failure) */
  nsPrefix: string;
  /** check the invariants after every n-th step (default 1: every step) */
  checkEvery?: number;
  /** called after every step, with the summary so far */
  onStep?(s: ChurnSummary): void | Promise<void>;
}

export interface ChurnSummary {
  seed: number;
  steps: number;
  /** per operation: succeeded, failed */
  ops: Record<ChurnOp, { ok: number; failed: number }>;
  /** the first failures, "step n OP id: message" */
  errors: string[];
  /** the first invariant violations, "after step n OP id: …" */
  violations: string[];
  /** how many steps found a violation */
  violatedSteps: number;
  /** pods alive now */
  live: number;
  ms: number;
}

const KEEP = 20;

function ipNetns(...args: string[]): void {
  execFileSync('ip', ['netns', ...args], { stdio: 'ignore' });
}

/**
 * Run the churn; pods still alive at the end are DELeted and the invariants checked once more against
 * no pods. Operation failures and violations are counted and returned, not thrown.
 */
export async function runChurn(o: ChurnOptions): Promise<ChurnSummary> {
  const rand = generator(o.seed);
  const live = new Map<string, LivePod>();
  const start = Date.now();
  const s: ChurnSummary = {
    seed: o.seed,
    steps: 0,
    ops: { ADD: { ok: 0, failed: 0 }, DEL: { ok: 0, failed: 0 }, CHECK: { ok: 0, failed: 0 } },
    errors: [],
    violations: [],
    violatedSteps: 0,
    live: 0,
    ms: 0,
  };
  let made = 0;
  const verify = async (label: string) => {
    const bad = await checkInvariants(o.net, live.values());
    if (bad.length === 0) return;
    s.violatedSteps++;
    for (const b of bad) if (s.violations.length < KEEP) s.violations.push(`${label}: ${b}`);
  };
  const del = async (p: LivePod): Promise<void> => {
    await o.net.del(p);
    live.delete(p.id);
    ipNetns('del', p.ns);
  };
  const step = async (op: ChurnOp, pick: number): Promise<string> => {
    const pods = [...live.values()];
    if (op === 'ADD') {
      const n = made++;
      const ns = `${o.nsPrefix}c${n}`;
      ipNetns('add', ns);
      const pod = { id: `churn-${n}`, ns, netns: `/var/run/netns/${ns}`, hostPort: 20000 + (n % 40000) };
      try {
        live.set(pod.id, await o.net.add(pod));
      } catch (e) {
        // a failed ADD is cleaned up as a runtime does: DEL, then the namespace goes
        await o.net.del(pod).catch(() => undefined);
        ipNetns('del', ns);
        throw e;
      }
      return pod.id;
    }
    const p = pods[Math.floor(pick * pods.length)]!;
    if (op === 'DEL') await del(p);
    else await o.net.check(p);
    return p.id;
  };
  const more = () =>
    (o.steps === undefined || s.steps < o.steps) &&
    (o.until === undefined || Date.now() < o.until) &&
    (o.cycles === undefined || s.ops.DEL.ok < o.cycles);
  while (more()) {
    const r = rand();
    const pick = rand();
    const n = live.size;
    // ADD when empty, never above maxPods; otherwise ADD 40 %, DEL 35 %, CHECK 25 %
    const op: ChurnOp = n === 0 ? 'ADD' : n >= o.maxPods ? (r < 0.6 ? 'DEL' : 'CHECK') : r < 0.4 ? 'ADD' : r < 0.75 ? 'DEL' : 'CHECK';
    s.steps++;
    let id = '?';
    try {
      id = await step(op, pick);
      s.ops[op].ok++;
    } catch (e) {
      s.ops[op].failed++;
      if (s.errors.length < KEEP) s.errors.push(`step ${s.steps} ${op}: ${e instanceof Error ? e.message : String(e)}`);
    }
    if (s.steps % (o.checkEvery ?? 1) === 0) await verify(`after step ${s.steps} ${op} ${id}`);
    s.live = live.size;
    s.ms = Date.now() - start;
    await o.onStep?.(s);
  }
  for (const p of [...live.values()]) {
    try {
      await del(p);
      s.ops.DEL.ok++;
    } catch (e) {
      s.ops.DEL.failed++;
      if (s.errors.length < KEEP) s.errors.push(`final DEL ${p.id}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  await verify('after the final DELs');
  s.live = live.size;
  s.ms = Date.now() - start;
  return s;
}
