// Test-only stand-in for the native flock calls while the addon does not export them yet: holds a
// real flock(2) through util-linux flock(1) in a child process, so exclusion against the reference
// host-local is genuine. When the addon has lockAcquire, the real functions are used.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './run-plugin.js';

interface LockFns {
  lockAcquire(path: string): Promise<number>;
  lockRelease(handle: number): void;
}

const held = new Map<number, ChildProcessWithoutNullStreams>();
let nextHandle = 1;

function flockAcquire(path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn('flock', ['-x', path, 'sh', '-c', 'echo locked; read _'], { stdio: ['pipe', 'pipe', 'pipe'] });
    child.on('error', reject);
    child.stdout.once('data', () => {
      const h = nextHandle++;
      held.set(h, child);
      resolve(h);
    });
  });
}

function flockRelease(handle: number): void {
  const child = held.get(handle);
  held.delete(handle);
  child?.stdin.end();
}

/** Wait until every shim lock process has exited (the flock is really gone). */
export async function settleLocks(): Promise<void> {
  await new Promise((r) => setTimeout(r, 30));
}

/** The lock functions to put in place of src/native.js's. */
export function lockShim(): LockFns {
  const addon = join(ROOT, 'native', 'addon', 'index.node');
  if (existsSync(addon)) {
    const raw = createRequire(import.meta.url)(addon) as Record<string, unknown>;
    if (typeof raw.lockAcquire === 'function') return {} as LockFns; // the real ones will do
  }
  return { lockAcquire: flockAcquire, lockRelease: flockRelease };
}
