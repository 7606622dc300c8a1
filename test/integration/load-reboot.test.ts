// A node "reboot": pods set up through launcher + agent (bridge + host-local + portmap), then most pod
// namespaces vanish and the agent is killed and started again; GC through our runtime, with the
// surviving attachments valid, reclaims everything of the dead pods and leaves the live ones intact.
// The reference host-local, which has no GC, keeps the dead pods' addresses forever.
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { agentStatus } from '../../src/agent/status.js';
import { startAgentProcess } from '../helpers/agent.js';
import { tempDir } from '../helpers/fixtures.js';
import { hlConf, theirs } from '../helpers/host-local.js';
import { checkInvariants, reservations } from '../helpers/load.js';
import { loadFixture } from '../helpers/load-fixture.js';
import { makeNetns, removeNetns } from '../helpers/netns.js';

describe('node reboot', () => {
  it('dead pods reclaimed by GC after the agent restarts: addresses, nftables elements, host links, cache files; live pods intact', {
    timeout: 120_000,
  }, async () => {
    const { agent: started, net } = await loadFixture({ label: 'reboot', subnet: '10.91.0.0/24' });
    const agent = started!;
    const pods = [];
    for (let i = 0; i < 6; i++) {
      const ns = makeNetns(`b${i}`);
      pods.push(await net.add({ id: `boot-${i}`, ns: ns.name, netns: ns.path, hostPort: 22000 + i }));
    }
    expect(await checkInvariants(net, pods)).toEqual([]);
    const [dead, alive] = [pods.slice(0, 4), pods.slice(4)];
    // the reboot: the dead pods' namespaces are gone; two of them the runtime lost track of as well
    // (no cache file), so only the plugins' own GC can find what they held
    for (const p of dead) removeNetns(p.ns);
    const cacheDir = join(net.cacheDir, 'results');
    for (const p of dead.slice(2)) rmSync(join(cacheDir, `${net.name}-${p.id}-eth0`));
    agent.proc.kill('SIGKILL');
    const agent2 = await startAgentProcess({ socketPath: agent.socketPath });

    // the kernel took the dead pods' veths with their namespaces; the rest stays until GC
    const before = await checkInvariants(net, alive);
    for (const p of dead) {
      expect(before).toContain(`host-local reservation: ${p.address} ${p.id} is not a live pod's`);
      expect(before).toContain(`nftables element: inet masq ${p.address} # ${p.id}/eth0 is not a live pod's`);
      expect(before).toContain(
        `nftables element: ip hostports tcp . ${p.hostPort} # ${net.name} ${p.id}/eth0 : ${p.address} . 80 is not a live pod's`,
      );
      expect(before.filter((v) => v.startsWith(`host veth: ${p.hostVeth}`))).toEqual([]);
    }
    expect(before).toContain(`results cache: ${net.name}/boot-0/eth0 is not a live pod's`);

    await net.gc(alive);
    expect(await checkInvariants(net, alive)).toEqual([]);
    expect(readdirSync(cacheDir).sort()).toEqual(alive.map((p) => `${net.name}-${p.id}-eth0`));
    // the new agent did the work, and the live pods still check out and DEL cleanly
    expect((await agentStatus(agent2.socketPath)).latency['bridge GC']?.count).toBe(1);
    for (const p of alive) await net.check(p);
    for (const p of alive) await net.del(p);
    expect(await checkInvariants(net, [])).toEqual([]);
  });

  it("the reference host-local has no GC: a dead pod's address stays reserved", async () => {
    const dataDir = tempDir('reboot-ref');
    const conf = hlConf({ dataDir, cniVersion: '1.0.0', ranges: [[{ subnet: '10.91.1.0/24' }]] });
    expect((await theirs('ADD', 'dead-pod', conf)).code).toBe(0);
    const gc = await theirs('GC', '', { ...conf, 'cni.dev/valid-attachments': [] });
    expect(gc.code).not.toBe(0);
    expect([...reservations(dataDir, 'net1')]).toEqual([['10.91.1.2', 'dead-pod']]);
    expect(existsSync(join(dataDir, 'net1', '10.91.1.2'))).toBe(true);
  });
});
