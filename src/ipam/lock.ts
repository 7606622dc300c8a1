// Exclusive flock(2) on a lock file (the one host-local uses), serialised in-process per path so
// that concurrent requests in one process queue on a promise instead of each parking a libuv thread.
import { lockAcquire, lockRelease, lockTry } from '../native.js';

const chains = new Map<string, Promise<unknown>>();

/**
 * Run fn while holding an exclusive flock on `path` (created if missing). Callers in this process
 * for the same `key` (default: the path; callers that reach one file by several paths pass what
 * identifies it) run one after another; others, and other processes (the reference host-local
 * included), are excluded by the flock itself. The lock is released also when fn throws.
 */
export async function withLock<T>(path: string, fn: () => Promise<T>, key = path): Promise<T> {
  const previous = chains.get(key) ?? Promise.resolve();
  const run = previous.then(
    () => locked(path, fn),
    () => locked(path, fn),
  );
  // The chain must not carry this run's failure to the next waiter, nor grow without bound.
  const tail = run.catch(() => undefined);
  chains.set(key, tail);
  void tail.then(() => {
    if (chains.get(key) === tail) chains.delete(key);
  });
  return run;
}

async function locked<T>(path: string, fn: () => Promise<T>): Promise<T> {
  // Uncontended (the usual case) costs one syscall pair here; only a held lock waits off-thread.
  const handle = lockTry(path) ?? (await lockAcquire(path));
  try {
    return await fn();
  } finally {
    lockRelease(handle);
  }
}
