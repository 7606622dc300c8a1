// Fake CNI plugins for runtime tests: small shell scripts that log each call (verb, env, stdin) as a
// JSON line and then do what the test asks (print a result, fail, hang...).
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CniRuntime } from '../../src/runtime/cni-runtime.js';
import type { RuntimeOptions } from '../../src/runtime/types.js';
import type { CniError } from '../../src/spec/errors.js';
import { tempDir } from './fixtures.js';

/** One logged call of a fake plugin. */
export interface FakeCall {
  plugin: string;
  cmd: string;
  id: string;
  netns: string;
  ifname: string;
  args: string;
  path: string;
  foo: string;
  stdin: Record<string, unknown>;
}

/** Write an executable fake plugin `name` into dir; `body` is shell run after the call is logged ($in holds stdin). */
export function fakePlugin(dir: string, name: string, body = '', log = join(dir, 'calls.log')): string {
  const file = join(dir, name);
  writeFileSync(
    file,
    `#!/bin/sh
in=$(cat)
printf '{"plugin":"%s","cmd":"%s","id":"%s","netns":"%s","ifname":"%s","args":"%s","path":"%s","foo":"%s","stdin":%s}\\n' \\
  "${name}" "$CNI_COMMAND" "$CNI_CONTAINERID" "$CNI_NETNS" "$CNI_IFNAME" "$CNI_ARGS" "$CNI_PATH" "$FOO" "$in" >> ${log}
${body}
`,
  );
  chmodSync(file, 0o755);
  return file;
}

/** Shell that prints `result` (JSON) on ADD and nothing otherwise. */
export function onAdd(result: unknown): string {
  return `[ "$CNI_COMMAND" = ADD ] && printf '%s' '${JSON.stringify(result)}'\nexit 0`;
}

/** The calls logged so far in dir. */
export function calls(dir: string, log = join(dir, 'calls.log')): FakeCall[] {
  if (!existsSync(log)) return [];
  return readFileSync(log, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as FakeCall);
}

/** A 1.0.0 result with one interface and one address. */
export function result100(addr: string, ifname = 'eth0'): Record<string, unknown> {
  return {
    cniVersion: '1.0.0',
    interfaces: [{ name: ifname, mac: '02:00:00:00:00:01', sandbox: '/var/run/netns/x' }],
    ips: [{ interface: 0, address: addr, gateway: addr.replace(/\.\d+\//, '.1/').split('/')[0] }],
    routes: [{ dst: '0.0.0.0/0' }],
  };
}

/** A runtime over fresh temp plugin and cache dirs; the plugins' stderr is collected in `stderr`. */
export function fakeRuntime(extra: Partial<RuntimeOptions> = {}) {
  const bin = tempDir('bin');
  const cache = tempDir('cache');
  const stderr: string[] = [];
  const runtime = new CniRuntime({ pluginPath: [bin], cacheDir: cache, stderr: (s) => stderr.push(s), ...extra });
  return { bin, cache, stderr, runtime };
}

/** The error a promise rejects with; throws when it resolves. */
export async function rejection(p: Promise<unknown>): Promise<CniError> {
  try {
    await p;
  } catch (e) {
    return e as CniError;
  }
  throw new Error('expected a rejection');
}
