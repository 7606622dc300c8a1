// The load tests' set-up: a node namespace, an agent (or none: every launcher falls back to Node) and
// a LoadNet in a temporary directory, all removed when the test finishes.
import { join } from 'node:path';
import { type AgentProcess, startAgentProcess } from './agent.js';
import { tempDir } from './fixtures.js';
import { LoadNet } from './load.js';
import { makeNetns, type Netns } from './netns.js';
import { OUR_BIN } from './run-plugin.js';

export interface LoadFixture {
  node: Netns;
  /** undefined when the test runs without an agent */
  agent?: AgentProcess;
  net: LoadNet;
}

export async function loadFixture(o: { label: string; subnet: string; portmap?: boolean; agent?: boolean }): Promise<LoadFixture> {
  const node = makeNetns('node');
  const agent = o.agent === false ? undefined : await startAgentProcess();
  const dir = tempDir(o.label);
  const socketPath = agent?.socketPath ?? join(dir, 'no-agent.sock');
  const net = new LoadNet({
    node: node.name,
    binDir: OUR_BIN,
    dir,
    socketPath,
    subnet: o.subnet,
    ...(o.portmap === false ? { portmap: false } : {}),
  });
  return { node, ...(agent ? { agent } : {}), net };
}
