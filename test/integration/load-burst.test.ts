// Bursts through the launcher, driven by our runtime as a node's runtime drives it: 500 ADDs at 16
// parallel on one /23 network (zero errors, 500 distinct addresses, every invariant of load.ts), then
// 500 DELs that leave nothing; a smaller burst with the agent absent (every launcher falls back to
// Node); and a burst during which the agent is killed and started again.
import { describe, expect, it } from 'vitest';
import { agentStatus } from '../../src/agent/status.js';
import { CniError, ErrorCode } from '../../src/spec/errors.js';
import { startAgentProcess } from '../helpers/agent.js';
import { addrs } from '../helpers/fixtures.js';
import { checkInvariants, type LivePod, type LoadNet, pool } from '../helpers/load.js';
import { loadFixture } from '../helpers/load-fixture.js';
import { makeNetns, type Netns } from '../helpers/netns.js';

/** ADD then DEL of `n` pods at 16 parallel; the pods set up, every invariant checked in between. */
async function burst(net: LoadNet, pods: Netns[]): Promise<LivePod[]> {
  const added = await pool(pods.length, 16, (i) => net.add({ id: `load-${i}`, ns: pods[i]!.name, netns: pods[i]!.path }));
  const addresses = new Set(added.map((p) => p.address));
  expect(addresses.size).toBe(pods.length);
  expect(await checkInvariants(net, added)).toEqual([]);
  await pool(pods.length, 16, (i) => net.del(added[i]!));
  expect(await checkInvariants(net, [])).toEqual([]);
  for (const p of pods.slice(0, 20)) expect(addrs(p).map((l) => l.ifname)).toEqual(['lo']);
  return added;
}

describe('load', () => {
  it('500 ADDs at 16 parallel through launcher + agent: 500 distinct addresses, every invariant; 500 DELs leave nothing', {
    timeout: 300_000,
  }, async () => {
    const { agent: started, net } = await loadFixture({ label: 'load', subnet: '10.94.0.0/23', portmap: false });
    const agent = started!;
    const pods = Array.from({ length: 500 }, (_, i) => makeNetns(`l${i}`));
    const added = await burst(net, pods);
    // both halves of the /23 were used
    expect(added.some((p) => p.address.startsWith('10.94.1.'))).toBe(true);
    const served = (await agentStatus(agent.socketPath)).latency;
    expect(served['bridge ADD']?.count).toBe(500);
    expect(served['bridge DEL']?.count).toBe(500);
  });

  it('48 ADDs at 16 parallel with the agent absent (the launcher falls back to Node); DELs leave nothing', {
    timeout: 180_000,
  }, async () => {
    const { net } = await loadFixture({ label: 'load-fallback', subnet: '10.93.0.0/24', portmap: false, agent: false });
    const pods = Array.from({ length: 48 }, (_, i) => makeNetns(`f${i}`));
    await burst(net, pods);
  });

  it('the agent killed and started again during a burst: every ADD answered, the new agent serves the later ones, DEL leaves nothing', {
    timeout: 240_000,
  }, async () => {
    const N = 100;
    const { agent: started, net } = await loadFixture({ label: 'restart', subnet: '10.92.0.0/24' });
    const agent = started!;
    const pods = Array.from({ length: N }, (_, i) => makeNetns(`r${i}`));
    let answered = 0;
    let restarted: Promise<Awaited<ReturnType<typeof startAgentProcess>>> | undefined;
    const outcomes = await pool(N, 16, async (i) => {
      const pod = { id: `restart-${i}`, ns: pods[i]!.name, netns: pods[i]!.path, hostPort: 21000 + i };
      const out = await net.add(pod).then(
        (p) => ({ pod: p }),
        (e: unknown) => ({ error: e }),
      );
      answered++;
      if (answered === 20) agent.proc.kill('SIGKILL');
      // back while the burst goes on: it replaces the dead agent's socket
      if (answered === 40) restarted = startAgentProcess({ socketPath: agent.socketPath });
      return out;
    });
    const agent2 = await restarted!;
    const ok = outcomes.flatMap((o) => ('pod' in o ? [o.pod] : []));
    const failed = outcomes.flatMap((o) => ('error' in o ? [o.error] : []));
    console.log(`restart burst: ${ok.length} set up, ${failed.length} told to try again`);
    // a failure is the clean code-11 answer of a request whose agent died under it, never anything else
    for (const e of failed) {
      expect(e).toBeInstanceOf(CniError);
      expect(e).toMatchObject({ code: ErrorCode.TryAgainLater, message: expect.stringContaining('connection lost') });
    }
    expect(ok.length).toBeGreaterThanOrEqual(N - 16);
    // the restarted agent served part of the burst (the rest went to the first agent or fell back)
    const served = (await agentStatus(agent2.socketPath)).latency['bridge ADD']?.count ?? 0;
    expect(served).toBeGreaterThan(0);
    expect(served).toBeLessThan(N);
    // the pods set up are whole; then DEL of every pod (set up or not) leaves nothing
    const live = await checkInvariants(net, ok);
    const failedIds = outcomes.flatMap((o, i) => ('error' in o ? [`restart-${i}`] : []));
    // what a pod whose agent died mid-ADD left behind is its own, and named by it
    for (const v of live) expect(failedIds.some((id) => v.includes(id)) || /^host veth: \S+ is not a live pod's$/.test(v), v).toBe(true);
    await pool(N, 16, (i) => net.del({ id: `restart-${i}`, netns: pods[i]!.path, hostPort: 21000 + i }));
    expect(await checkInvariants(net, [])).toEqual([]);
    for (const p of pods) expect(addrs(p).map((l) => l.ifname)).toEqual(['lo']);
  });
});
