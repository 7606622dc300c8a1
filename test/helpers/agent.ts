// Agent fixtures: the agent as a child process on a temp socket (killed when the test finishes), and
// the launcher exec'd like a runtime execs it, pointed at that socket.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { onTestFinished } from 'vitest';
import { tempDir } from './fixtures.js';
import { execWith, OUR_BIN, ROOT, type PluginRun } from './run-plugin.js';

/** The `fastcni` command; `fastcni agent` is the agent's one process entry. */
export const FASTCNI = join(ROOT, 'dist', 'src', 'cli', 'fastcni.js');

export interface AgentProcess {
  socketPath: string;
  proc: ChildProcess;
  /** everything the agent logged so far, parsed */
  logs(): Array<Record<string, unknown>>;
  /** SIGTERM and wait; resolves with the exit code */
  stop(): Promise<number | null>;
}

/** Start `fastcni agent --socket <temp>` and wait until it listens. */
export async function startAgentProcess(
  opts: { socketPath?: string; args?: string[]; env?: Record<string, string> } = {},
): Promise<AgentProcess> {
  const socketPath = opts.socketPath ?? join(tempDir('agent'), 'run', 'agent.sock');
  const proc = spawn(process.execPath, [FASTCNI, 'agent', '--socket', socketPath, '--log-level', 'debug', ...(opts.args ?? [])], {
    stdio: ['ignore', 'ignore', 'pipe'],
    ...(opts.env ? { env: { ...process.env, ...opts.env } } : {}),
  });
  let log = '';
  proc.stderr!.on('data', (d: Buffer) => (log += d.toString()));
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  onTestFinished(() => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
  });
  const logs = (): Array<Record<string, unknown>> =>
    log
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  for (let i = 0; i < 200 && !log.includes('"agent listening"'); i++) {
    if (proc.exitCode !== null) throw new Error(`agent exited: ${log}`);
    await sleep(25);
  }
  if (!existsSync(socketPath)) throw new Error(`agent did not start: ${log}`);
  return {
    socketPath,
    proc,
    logs,
    stop: async () => {
      proc.kill('SIGTERM');
      return exited;
    },
  };
}

export interface LauncherCall {
  plugin: string;
  env: Record<string, string>;
  stdin: string;
  /** the agent socket; a path where none listens forces the fallback */
  socketPath: string;
  /** run inside this named namespace (ip netns exec), as a runtime on that node would */
  nodeNs?: string;
  /** command prefix, e.g. setpriv to drop privileges */
  prefix?: string[];
  extraEnv?: Record<string, string>;
}

/** Exec dist/cni/<plugin> (the launcher) with the env and stdin given. */
export function runLauncher(c: LauncherCall): Promise<PluginRun> {
  const env = { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', FASTCNI_SOCKET: c.socketPath, ...c.extraEnv, ...c.env };
  const bin = join(OUR_BIN, c.plugin);
  const argv = [...(c.nodeNs ? ['ip', 'netns', 'exec', c.nodeNs] : []), ...(c.prefix ?? []), bin];
  return execWith(argv[0]!, argv.slice(1), env, c.stdin);
}
