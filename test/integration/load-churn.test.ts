// Churn through the launcher and the agent: random ADD, DEL and CHECK of a bridge + host-local +
// portmap network from a seeded generator (printed; FASTCNI_CHURN_SEED replays it), every invariant of
// load.ts checked after every step. `make soak` runs the same for as long as it is told.
import { describe, expect, it, onTestFinished } from 'vitest';
import { churnSeed, runChurn } from '../helpers/churn.js';
import { checkInvariants } from '../helpers/load.js';
import { loadFixture } from '../helpers/load-fixture.js';
import { leftoverNamespaces, makeNetns, removeNetns, RUN_PREFIX } from '../helpers/netns.js';

/** Bounded for CI: the soak runs the long version. */
const STEPS = 400;

describe('churn', () => {
  it(`${STEPS} random ADD/DEL/CHECK steps through launcher + agent keep every invariant`, { timeout: 240_000 }, async () => {
    const seed = churnSeed();
    console.log(`churn seed ${seed} (replay: FASTCNI_CHURN_SEED=${seed})`);
    const { net } = await loadFixture({ label: 'churn', subnet: '10.96.0.0/24' });
    const nsPrefix = `${RUN_PREFIX}churn-`;
    onTestFinished(() => {
      for (const ns of leftoverNamespaces()) if (ns.startsWith(nsPrefix)) removeNetns(ns);
    });
    const s = await runChurn({ net, seed, steps: STEPS, maxPods: 12, nsPrefix });
    console.log(`churn: ${JSON.stringify({ ...s, errors: s.errors.length, violations: s.violations.length })}`);
    expect(s.errors).toEqual([]);
    expect(s.violations).toEqual([]);
    // the run really churned: every operation ran, and the pods came and went
    for (const op of ['ADD', 'DEL', 'CHECK'] as const) expect(s.ops[op].ok).toBeGreaterThan(10);
    expect(s.live).toBe(0);

    // the checker sees what a lost pod leaves: its pod set up, but not among the live ones
    const ns = makeNetns('lost');
    const lost = await net.add({ id: 'lost', ns: ns.name, netns: ns.path, hostPort: 19999 });
    const seen = await checkInvariants(net, []);
    expect(seen).toEqual(
      expect.arrayContaining([
        `host-local reservation: ${lost.address} lost is not a live pod's`,
        `host veth: ${lost.hostVeth}@${net.bridge} is not a live pod's`,
        `nftables element: inet masq ${lost.address} # lost/eth0 is not a live pod's`,
        `nftables element: ip hostports tcp . 19999 # loadnet lost/eth0 : ${lost.address} . 80 is not a live pod's`,
        "results cache: loadnet/lost/eth0 is not a live pod's",
      ]),
    );
    expect(seen).toHaveLength(9);
    expect(await checkInvariants(net, [lost])).toEqual([]);
    await net.del(lost);
    expect(await checkInvariants(net, [])).toEqual([]);
  });
});
