// Percentiles and per-phase summaries.

export interface PhaseStats {
  pods: number;
  workers: number;
  wallMs: number;
  podsPerSec: number;
  /** wall time per pod (ms) */
  perPodMs: number;
  p50: number;
  p95: number;
  p99: number;
  errors: number;
  firstError?: string;
}

/** Nearest-rank percentile of a sorted array. */
export function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

export function summarize(latMs: number[], wallMs: number, workers: number, errors: string[]): PhaseStats {
  const s = [...latMs].sort((a, b) => a - b);
  const pods = latMs.length;
  return {
    pods,
    workers,
    wallMs: round(wallMs),
    podsPerSec: round((pods * 1000) / wallMs),
    perPodMs: round(wallMs / pods),
    p50: round(percentile(s, 50)),
    p95: round(percentile(s, 95)),
    p99: round(percentile(s, 99)),
    errors: errors.length,
    ...(errors.length ? { firstError: errors[0]!.slice(0, 300) } : {}),
  };
}

export function round(x: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
