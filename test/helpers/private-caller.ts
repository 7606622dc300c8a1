// A caller in a mount namespace and a network namespace of its own, as a runtime in a container or
// containerd with its private mounts is: a process in the node's network namespace with a tmpfs at
// `dir` that only it sees, holding the pod's network namespace at dir/netns/pod, a copy of the
// reference host-local at dir/bin, room for IPAM data at dir/data, and absolute symbolic links
// dir/ns-link → dir/netns and dir/data-link → dir/data (which name nothing in the machine's view).
// Commands run there through nsenter.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { expect, onTestFinished } from 'vitest';
import { startAgentProcess } from './agent.js';
import { nodeAndPod, tempDir } from './fixtures.js';
import type { Netns } from './netns.js';
import { execWith, OUR_BIN, REF_BIN, ROOT, type PluginRun } from './run-plugin.js';

export interface PrivateCaller {
  /** the mount point of the tmpfs only this caller sees */
  dir: string;
  /** the pod's network namespace, as this caller names it (dir/netns/pod) */
  netnsPath: string;
  /** Run a command in the caller's mount and network namespaces. */
  run(cmd: string, args: string[], env: Record<string, string>, stdin: string): Promise<PluginRun>;
  /** Run a plugin in-process with the library, in a Node started there (the library's path). */
  invokeInProcess(plugin: string, env: Record<string, string>, stdin: string): Promise<PluginRun>;
  /** The files under dir/<sub> as the caller sees them, recursively, sorted. */
  files(sub: string): Promise<string[]>;
}

const SETUP = `set -e
mount -t tmpfs fcni-t-private "$D"
mkdir "$D/netns" "$D/bin" "$D/data"
touch "$D/netns/pod"
mount --bind "$POD" "$D/netns/pod"
cp "$REF/host-local" "$D/bin/host-local"
ln -s "$D/netns" "$D/ns-link"
ln -s "$D/data" "$D/data-link"
echo ready
exec sleep 600
`;

/** The library's plugin table and one invocation in-process: stdin in, the output as JSON out. */
const IN_PROCESS = `
const { loadPlugin } = await import(process.argv[1]);
const chunks = [];
for await (const c of process.stdin) chunks.push(c);
const plugin = await loadPlugin(process.argv[2]);
const out = await plugin.invoke({ env: process.env, stdin: Buffer.concat(chunks), loadPlugin });
process.stdout.write(JSON.stringify(out));
`;

/**
 * Start the caller inside `node` (ip netns exec, then unshare -m with private propagation), with
 * its tmpfs mounted on `dir` (an empty directory of the machine's); killed when the test finishes,
 * which takes its mounts with it.
 */
export async function privateCaller(o: { node: Netns; pod: Netns; dir: string }): Promise<PrivateCaller> {
  const holder = spawn('ip', ['netns', 'exec', o.node.name, 'unshare', '-m', '--propagation', 'private', 'sh', '-c', SETUP], {
    env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', D: o.dir, POD: o.pod.path, REF: REF_BIN },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  onTestFinished(() => {
    holder.kill('SIGKILL');
  });
  let out = '';
  await new Promise<void>((resolve, reject) => {
    holder.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('ready')) resolve();
    });
    holder.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    holder.once('exit', (code) => reject(new Error(`private caller exited (${code}): ${out}`)));
  });
  const enter = ['-t', String(holder.pid), '-m', '-n'];
  const run = (cmd: string, args: string[], env: Record<string, string>, stdin: string) =>
    execWith('nsenter', [...enter, cmd, ...args], env, stdin);
  return {
    dir: o.dir,
    netnsPath: join(o.dir, 'netns', 'pod'),
    run,
    async invokeInProcess(plugin, env, stdin) {
      const library = join(ROOT, 'dist', 'src', 'index.js');
      const r = await run(process.execPath, ['--input-type=module', '-e', IN_PROCESS, library, plugin], env, stdin);
      if (r.code !== 0) throw new Error(`in-process run failed: ${r.stderr}`);
      const got = JSON.parse(r.stdout) as { exitCode: number; stdout: string; stderr: string };
      return { code: got.exitCode, stdout: got.stdout, stderr: got.stderr };
    },
    async files(sub) {
      const r = await run('find', [join(o.dir, sub), '-mindepth', '1'], {}, '');
      return r.stdout
        .split('\n')
        .filter((l) => l !== '')
        .sort();
    },
  };
}

/** The three ways a request reaches one of our plugins. */
export type CallPath = 'agent' | 'fallback' | 'in-process';

/**
 * One request as the caller makes it, on `path`: through the launcher with the agent at
 * `socketPath`, through the launcher with no agent at all (it then starts Node in the caller's
 * namespaces), or through the library in-process.
 */
export function callOnPath(
  path: CallPath,
  o: { caller: PrivateCaller; plugin: string; socketPath: string; env: Record<string, string>; conf: unknown },
): Promise<PluginRun> {
  const stdin = JSON.stringify(o.conf);
  if (path === 'in-process') return o.caller.invokeInProcess(o.plugin, o.env, stdin);
  const socket = path === 'agent' ? o.socketPath : join(o.caller.dir, 'no-agent.sock');
  const env = { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', FASTCNI_SOCKET: socket, ...o.env };
  return o.caller.run(join(OUR_BIN, o.plugin), [], env, stdin);
}

/** What one path's turn of a three-path test gets. */
export interface PathRun {
  path: CallPath;
  node: Netns;
  pod: Netns;
  caller: PrivateCaller;
  /** CNI_* for the caller's attachment ctr-mnt/eth0 in its pod, CNI_PATH ours; `extra` added or overriding */
  env(command: string, extra?: Record<string, string>): Record<string, string>;
  /** One request to `plugin` on this path. */
  call(plugin: string, env: Record<string, string>, conf: unknown): Promise<PluginRun>;
}

/**
 * Run `body` once on each of the three paths, each time with a node, a pod and a private caller of
 * their own (its tmpfs always at one mount point, so that results naming the caller's paths compare
 * byte for byte) and one agent for the agent path; what `body` returns must be the same on all three.
 */
export async function onEveryPath(body: (run: PathRun) => Promise<string[]>): Promise<void> {
  const agent = await startAgentProcess();
  const dir = tempDir('private');
  const outputs: Partial<Record<CallPath, string[]>> = {};
  for (const path of ['agent', 'fallback', 'in-process'] as const) {
    const { node, pod } = nodeAndPod();
    const caller = await privateCaller({ node, pod, dir });
    const env = (command: string, extra: Record<string, string> = {}) => ({
      CNI_COMMAND: command,
      CNI_CONTAINERID: 'ctr-mnt',
      CNI_IFNAME: 'eth0',
      CNI_NETNS: caller.netnsPath,
      CNI_PATH: OUR_BIN,
      ...extra,
    });
    const call = (plugin: string, e: Record<string, string>, conf: unknown) =>
      callOnPath(path, { caller, plugin, socketPath: agent.socketPath, env: e, conf });
    outputs[path] = await body({ path, node, pod, caller, env, call });
  }
  expect(outputs.fallback).toEqual(outputs.agent);
  expect(outputs['in-process']).toEqual(outputs.agent);
}

/** A bridge result with what differs from run to run (MAC addresses, the host veth's name) made constant. */
export function stableBridgeResult(stdout: string, hostVeth: string | undefined): string {
  return stdout.replace(/"([0-9a-f]{2}:){5}[0-9a-f]{2}"/g, '"MAC"').replaceAll(`"${hostVeth}"`, '"HOSTVETH"');
}
