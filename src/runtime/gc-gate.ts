// The GC exclusion the spec asks for: ADD/CHECK/DEL share the gate, GC holds it alone — inside one
// runtime instance through a readers/writer queue, and across processes through flocks under the
// cache dir. flock via the addon is exclusive only, so shared holders register instead: entry is
// serialised on <cacheDir>/gc.lock and each process with operations in flight holds an exclusive
// flock on its own file in <cacheDir>/gc.inflight/; GC takes gc.lock (no new entries) and then
// every in-flight file's flock (waits for the operations already running; a dead process's flock is
// gone with it). Known limit: one process that is never idle delays another process's GC until it is.
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { lockAcquire, lockRelease } from '../native.js';

/**
 * The cross-process side of the shared holders of one gate: each entry passes gc.lock (so none starts
 * while a GC holds it), and while any is in flight the gate holds a flock on its own in-flight file.
 */
class Registration {
  private refs = 0;
  private current: Promise<{ handle: number; file: string }> | undefined;

  constructor(
    private readonly lockFile: string,
    private readonly inflightDir: string,
  ) {}

  async enter(): Promise<void> {
    await mkdir(this.inflightDir, { recursive: true, mode: 0o700 });
    const gate = await lockAcquire(this.lockFile);
    try {
      // No await between the check and the count: a leave() cannot interleave.
      if (this.refs === 0 || !this.current) this.current = this.register();
      const mine = this.current;
      this.refs++;
      try {
        await mine;
      } catch (e) {
        this.refs--;
        if (this.current === mine) this.current = undefined;
        throw e;
      }
    } finally {
      lockRelease(gate);
    }
  }

  async leave(): Promise<void> {
    this.refs--;
    if (this.refs > 0 || !this.current) return;
    const held = this.current;
    this.current = undefined;
    const { handle, file } = await held;
    await rm(file, { force: true });
    lockRelease(handle);
  }

  private async register(): Promise<{ handle: number; file: string }> {
    const file = join(this.inflightDir, `${process.pid}-${randomBytes(4).toString('hex')}`);
    return { handle: await lockAcquire(file), file };
  }
}

/** ADD/CHECK/DEL against GC, in this instance and across processes sharing the cache dir. */
export class GcGate {
  private readonly lockFile: string;
  private readonly inflightDir: string;
  private readonly registration: Registration;

  /** @param cacheDir the runtime's cache root; gc.lock and gc.inflight/ live there */
  constructor(cacheDir: string) {
    this.lockFile = join(cacheDir, 'gc.lock');
    this.inflightDir = join(cacheDir, 'gc.inflight');
    this.registration = new Registration(this.lockFile, this.inflightDir);
  }

  /** Run an ADD, CHECK or DEL: concurrently with others, never with a GC. */
  async shared<T>(fn: () => Promise<T>): Promise<T> {
    await this.registration.enter();
    try {
      return await fn();
    } finally {
      await this.registration.leave();
    }
  }

  /** Run a GC: after every ADD/CHECK/DEL in flight (here and in other processes) ends, none starting until it is done. */
  async exclusive<T>(fn: () => Promise<T>): Promise<T> {
    await mkdir(this.inflightDir, { recursive: true, mode: 0o700 });
    const gate = await lockAcquire(this.lockFile);
    try {
      for (const name of await readdir(this.inflightDir)) {
        const file = join(this.inflightDir, name);
        const h = await lockAcquire(file);
        await rm(file, { force: true });
        lockRelease(h);
      }
      return await fn();
    } finally {
      lockRelease(gate);
    }
  }
}
