// `fastcni agent` as a child process, waited for until it listens. No vitest import here: the cluster
// lab (and through it the demo and the benchmark) runs agents outside the test runner.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ROOT } from './run-plugin.js';

/** The `fastcni` command; `fastcni agent` is the agent's one process entry. */
export const FASTCNI = join(ROOT, 'dist', 'src', 'cli', 'fastcni.js');

export interface AgentProcess {
  socketPath: string;
  proc: ChildProcess;
  /** everything the agent logged so far, parsed */
  logs(): Array<Record<string, unknown>>;
  /** SIGTERM and wait; resolves with the exit code */
  stop(): Promise<number | null>;
  /** SIGKILL (no clean-up of its own) and wait */
  kill(): Promise<void>;
}

/** Start `fastcni agent --socket <socketPath> ARGS` and wait until it listens (the caller stops it). */
export async function spawnAgent(o: { socketPath: string; args?: string[]; env?: Record<string, string> }): Promise<AgentProcess> {
  const proc = spawn(process.execPath, [FASTCNI, 'agent', '--socket', o.socketPath, '--log-level', 'debug', ...(o.args ?? [])], {
    stdio: ['ignore', 'ignore', 'pipe'],
    ...(o.env ? { env: { ...process.env, ...o.env } } : {}),
  });
  let log = '';
  proc.stderr!.on('data', (d: Buffer) => (log += d.toString()));
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  const running = () => proc.exitCode === null && proc.signalCode === null;
  const logs = (): Array<Record<string, unknown>> =>
    log
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  const agent: AgentProcess = {
    socketPath: o.socketPath,
    proc,
    logs,
    stop: async () => {
      if (running()) proc.kill('SIGTERM');
      return exited;
    },
    kill: async () => {
      if (running()) proc.kill('SIGKILL');
      await exited;
    },
  };
  for (let i = 0; i < 200 && !log.includes('"agent listening"'); i++) {
    if (!running()) throw new Error(`agent exited: ${log}`);
    await sleep(25);
  }
  if (!existsSync(o.socketPath)) {
    await agent.kill();
    throw new Error(`agent did not start: ${log}`);
  }
  return agent;
}
