// Where a plugin call's time goes, summed per phase over this process's life: each plugin command
// as a whole, the IPAM delegation, and every native call as JavaScript sees it (the hop to a
// native thread and back included). The native side's own phases come from nativePhases() in
// src/native.ts. The benchmark and the agent's status read both, so a slow ADD can be explained
// without a profiler; recording costs two clock reads and a map update. (`performance` is the global
// one: importing node:perf_hooks costs a plugin process start-up time.)

/** One phase's totals since start (or the last reset). */
export interface PhaseTotal {
  /** e.g. "bridge.ADD", "ipam.ADD", "native.bridgeAdd", "bridgeAdd.vethCreate" (native side) */
  name: string;
  totalMs: number;
  count: number;
}

const totals = new Map<string, { ms: number; count: number }>();

/** Add one occurrence of a phase. */
export function recordPhase(name: string, ms: number): void {
  const t = totals.get(name);
  if (t) {
    t.ms += ms;
    t.count++;
  } else {
    totals.set(name, { ms, count: 1 });
  }
}

/** Run `work` and charge its wall time to `name`, whether it succeeds or throws. */
export async function timePhase<T>(name: string, work: () => Promise<T>): Promise<T> {
  const start = performance.now();
  try {
    return await work();
  } finally {
    recordPhase(name, performance.now() - start);
  }
}

/** The JavaScript-side phases, sorted by name; with `reset`, they restart from zero. */
export function phaseTotals(reset = false): PhaseTotal[] {
  const out = [...totals].map(([name, t]) => ({ name, totalMs: t.ms, count: t.count })).sort((a, b) => a.name.localeCompare(b.name));
  if (reset) totals.clear();
  return out;
}
