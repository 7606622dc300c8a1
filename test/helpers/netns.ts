// Namespace fixture for tests: every namespace is named fcni-t-*, and removed by the test's own teardown.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { onTestFinished } from 'vitest';

export const NS_PREFIX = 'fcni-t-';
/** This run's own prefix (set by the global setup), so concurrent runs never judge each other's namespaces. */
export const RUN_PREFIX = `${NS_PREFIX}${process.env.FCNI_TEST_RUN ?? 'x'}-`;

/** Run `ip` (a tool that is not ours) and return stdout. */
export function ip(...args: string[]): string {
  return execFileSync('ip', args, { encoding: 'utf8' });
}

/** `ip -j` output parsed. */
export function ipJson<T = unknown>(...args: string[]): T {
  const out = ip('-j', ...args).trim();
  return (out ? JSON.parse(out) : []) as T;
}

/** Run a command inside a namespace and return stdout. */
export function inNs(ns: string, cmd: string, ...args: string[]): string {
  return execFileSync('ip', ['netns', 'exec', ns, cmd, ...args], { encoding: 'utf8' });
}

export interface Netns {
  name: string;
  path: string;
}

/** Create a namespace (lo up unless asked otherwise); removed when the current test finishes. */
export function makeNetns(label: string, opts: { loUp?: boolean } = {}): Netns {
  const name = `${RUN_PREFIX}${label}-${randomBytes(3).toString('hex')}`;
  ip('netns', 'add', name);
  if (opts.loUp ?? true) ip('-n', name, 'link', 'set', 'lo', 'up');
  onTestFinished(() => removeNetns(name));
  return { name, path: `/var/run/netns/${name}` };
}

/** Delete a namespace if it still exists (idempotent). */
export function removeNetns(name: string): void {
  try {
    execFileSync('ip', ['netns', 'del', name], { stdio: 'ignore' });
  } catch {
    /* already gone */
  }
}

/** Names of our test namespaces that exist now. */
export function leftoverNamespaces(): string[] {
  return ip('netns', 'list')
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter((n) => n.startsWith(RUN_PREFIX));
}
