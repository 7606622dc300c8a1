// Fault injection stays where it is asked for (src/faults.ts): a process not started with
// FASTCNI_FAULT_INJECTION=1 ignores a request's FASTCNI_FAULT and FASTCNI_FAULT_TRACE, and an agent
// started with it kills itself only at the point of the request that armed it, not when another
// request it serves meanwhile passes the same point. host-local through the launcher: files only,
// nothing in any network namespace.
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { lockAcquire, lockRelease } from '../../src/native.js';
import { runLauncher, startAgentProcess } from '../helpers/agent.js';
import { fastcni } from '../helpers/cli.js';
import { faultyAgent } from '../helpers/faults.js';
import { tempDir } from '../helpers/fixtures.js';
import { hlConf, hlEnv } from '../helpers/host-local.js';

const ranges = (subnet: string) => [[{ subnet }]];

/** A host-local ADD through the launcher; `fault` armed, traced into `trace`. */
function add(o: { socketPath: string; dataDir: string; net: string; id: string; fault?: string; trace?: string; inject?: boolean }) {
  const conf = hlConf({ name: o.net, dataDir: o.dataDir, ranges: ranges(o.net === 'neta' ? '10.82.0.0/24' : '10.83.0.0/24') });
  return runLauncher({
    plugin: 'host-local',
    socketPath: o.socketPath,
    stdin: JSON.stringify(conf),
    env: {
      ...hlEnv('ADD', o.id),
      ...(o.fault ? { FASTCNI_FAULT: o.fault } : {}),
      ...(o.trace ? { FASTCNI_FAULT_TRACE: o.trace } : {}),
      ...(o.inject ? { FASTCNI_FAULT_INJECTION: '1' } : {}),
    },
  });
}

describe('fault injection', () => {
  it('is inert in an agent and a fallback not started for it', async () => {
    const dataDir = tempDir('faults-inert');
    const trace = join(dataDir, 'trace');
    const agent = await startAgentProcess();
    const served = await add({ socketPath: agent.socketPath, dataDir, net: 'neta', id: 'inert-agent', fault: 'host-local.ADD', trace });
    expect(served.code, served.stdout + served.stderr).toBe(0);
    expect(agent.proc.exitCode).toBeNull();
    // the fallback: the runtime's environment names a point but does not enable injection
    const fellBack = await add({
      socketPath: join(dataDir, 'no-agent.sock'),
      dataDir,
      net: 'neta',
      id: 'inert-node',
      fault: 'host-local.ADD',
      trace,
    });
    expect(fellBack.code, fellBack.stdout + fellBack.stderr).toBe(0);
    expect(existsSync(trace)).toBe(false);
    // and enabled in that fallback, the same request is killed there
    const killed = await add({
      socketPath: join(dataDir, 'no-agent.sock'),
      dataDir,
      net: 'neta',
      id: 'killed',
      fault: 'host-local.ADD',
      inject: true,
    });
    expect(killed.code).not.toBe(0);
    expect(killed.stdout).toBe('');
  });

  it('an armed point fires only for the request that armed it', async () => {
    const dataDir = tempDir('faults-iso');
    const agent = await faultyAgent(join(tempDir('faults-iso-agent'), 'agent.sock'));
    // request A waits for host-local's lock of its network, which the test holds
    mkdirSync(join(dataDir, 'neta'), { recursive: true });
    const held = await lockAcquire(join(dataDir, 'neta', 'lock'));
    const a = add({ socketPath: agent.socketPath, dataDir, net: 'neta', id: 'armed', fault: 'host-local.ADD' });
    try {
      const inFlight = async (): Promise<number> => {
        const st = await fastcni(['agent', 'status', '--socket', agent.socketPath, '--json']);
        return (JSON.parse(st.stdout) as { inFlight: number }).inFlight;
      };
      for (let i = 0; i < 200 && (await inFlight()) < 1; i++) await sleep(25);
      expect(await inFlight()).toBe(1);
      // meanwhile request B, on another network, passes the same point unarmed: the agent lives on
      const b = await add({ socketPath: agent.socketPath, dataDir, net: 'netb', id: 'unarmed' });
      expect(b.code, b.stdout + b.stderr).toBe(0);
      expect(agent.proc.exitCode).toBeNull();
      expect(agent.proc.signalCode).toBeNull();
    } finally {
      lockRelease(held);
    }
    // A gets its lock, reaches its point and the agent dies there
    const armed = await a;
    expect(armed.code).not.toBe(0);
    expect(armed.stdout).toContain('fastcni agent connection lost before it answered');
    if (agent.proc.signalCode === null) await new Promise((r) => agent.proc.once('exit', r));
    expect(agent.proc.signalCode).toBe('SIGKILL');
  });
});
