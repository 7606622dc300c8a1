// The benchmark's sandbox: every namespace it makes is named fcni-bench-<run>-*, every process and
// temporary directory is registered, and all of it is removed at the end, on failure and on Ctrl-C.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const BENCH_PREFIX = 'fcni-bench-';

/** Run `ip` with arguments; stdout as text. */
export function ip(...args: string[]): string {
  return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Run a command inside a namespace (via `ip netns exec`); stdout as text. */
export function inNs(ns: string, cmd: string, ...args: string[]): string {
  return execFileSync('ip', ['netns', 'exec', ns, cmd, ...args], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    maxBuffer: 64 << 20,
  });
}

/** Run many `ip` commands in one process (`ip -force -batch -`). */
export function ipBatch(lines: string[]): void {
  if (lines.length) execFileSync('ip', ['-force', '-batch', '-'], { input: `${lines.join('\n')}\n`, stdio: ['pipe', 'ignore', 'ignore'] });
}

/** Owns everything one benchmark run creates. */
export class Sandbox {
  readonly prefix = `${BENCH_PREFIX}${randomBytes(3).toString('hex')}-`;
  readonly dir = mkdtempSync(join(tmpdir(), 'fcni-bench-'));
  private readonly namespaces = new Set<string>();
  private readonly children = new Set<ChildProcess>();
  private closed = false;
  private readonly onSignal = (sig: NodeJS.Signals) => {
    process.stderr.write(`\nbench: ${sig}, cleaning up\n`);
    this.close();
    process.exit(sig === 'SIGINT' ? 130 : 143);
  };

  constructor() {
    process.on('SIGINT', this.onSignal);
    process.on('SIGTERM', this.onSignal);
    process.on('exit', () => this.close());
  }

  /** Create namespaces `<prefix><label>`; returns their names. */
  makeNetns(labels: string[]): string[] {
    const names = labels.map((l) => this.prefix + l);
    names.forEach((n) => this.namespaces.add(n));
    ipBatch(names.map((n) => `netns add ${n}`));
    return names;
  }

  removeNetns(names: string[]): void {
    ipBatch(names.map((n) => `netns del ${n}`));
    names.forEach((n) => this.namespaces.delete(n));
  }

  /** Start a process that is killed at cleanup. */
  spawn(cmd: string, args: string[], opts: Parameters<typeof spawn>[2] = {}): ChildProcess {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], ...opts });
    this.children.add(child);
    child.on('exit', () => this.children.delete(child));
    return child;
  }

  kill(child: ChildProcess): Promise<void> {
    return new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), 3000).unref();
    });
  }

  /** Remove everything (idempotent, synchronous so it also works from an exit handler). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const c of this.children) c.kill('SIGKILL');
    try {
      ipBatch([...this.namespaces].map((n) => `netns del ${n}`));
    } catch {
      /* best effort; verified below */
    }
    const left = ip('netns', 'list')
      .split('\n')
      .map((l) => l.split(' ')[0] ?? '')
      .filter((n) => n.startsWith(this.prefix));
    for (const n of left) {
      try {
        ip('netns', 'del', n);
      } catch {
        /* reported below */
      }
    }
    rmSync(this.dir, { recursive: true, force: true });
    process.off('SIGINT', this.onSignal);
    process.off('SIGTERM', this.onSignal);
  }
}
