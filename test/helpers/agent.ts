// Agent fixtures: the agent as a child process on a temp socket (killed when the test finishes), and
// the launcher exec'd like a runtime execs it, pointed at that socket.
import { join } from 'node:path';
import { onTestFinished } from 'vitest';
import { type AgentProcess, spawnAgent } from './agent-process.js';
import { tempDir } from './fixtures.js';
import { execWith, OUR_BIN, type PluginRun } from './run-plugin.js';

export { type AgentProcess, FASTCNI } from './agent-process.js';

/** Start `fastcni agent --socket <temp>` and wait until it listens; killed when the test finishes. */
export async function startAgentProcess(
  opts: { socketPath?: string; args?: string[]; env?: Record<string, string> } = {},
): Promise<AgentProcess> {
  const agent = await spawnAgent({ ...opts, socketPath: opts.socketPath ?? join(tempDir('agent'), 'run', 'agent.sock') });
  onTestFinished(() => agent.kill());
  return agent;
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
