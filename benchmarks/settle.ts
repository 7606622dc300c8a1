// Waiting for the machine to be quiet before a timed phase. Deleting namespaces and links is
// finished by the kernel in the background (cleanup_net, RCU), and a process that just exited may
// still be tearing down: work left over from the previous phase or mode would otherwise be charged
// to the next one, whichever mode that is.
import { readFileSync } from 'node:fs';

/** Busy and total jiffies of all CPUs so far (/proc/stat). */
function cpuTimes(): { busy: number; total: number } {
  const f = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = f.reduce((a, b) => a + b, 0);
  const idle = (f[3] ?? 0) + (f[4] ?? 0); // idle + iowait
  return { busy: total - idle, total };
}

/**
 * Resolve once a `windowMs` window saw the CPUs at least `idleShare` idle, or after `maxMs`.
 * Returns how long it waited, in ms.
 */
export async function settle(windowMs = 200, idleShare = 0.9, maxMs = 10_000): Promise<number> {
  const start = performance.now();
  for (;;) {
    const a = cpuTimes();
    await new Promise((r) => setTimeout(r, windowMs));
    const b = cpuTimes();
    const total = b.total - a.total;
    if (total <= 0 || 1 - (b.busy - a.busy) / total >= idleShare) break;
    if (performance.now() - start >= maxMs) break;
  }
  return performance.now() - start;
}
