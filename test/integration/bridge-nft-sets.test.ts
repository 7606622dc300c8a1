// A network's nf_tables sets and rules (masquerade, spoof check) live as long as its pods: the last
// DEL or a GC removes them, as nft(8) lists them inside the node namespace, and ADDs and DELs from
// separate processes at once lose no element and leave no set behind.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { inNs, makeNetns, type Netns } from '../helpers/netns.js';
import { bridgeConf, cidrsOf, cni, tempDir } from '../helpers/fixtures.js';
import { masqElements, ourObjects } from '../helpers/nft.js';
import { runLauncher, startAgentProcess } from '../helpers/agent.js';
import { cniEnv } from '../helpers/run-plugin.js';

type Json = Record<string, unknown>;

const hash = (s: string) => createHash('sha256').update(s).digest('hex').slice(0, 16);

/** The sets and rules one network has while it has pods (its subnets given). */
function networkObjects(network: string, subnets: string[]): { sets: string[]; rules: string[] } {
  const masq = subnets.map((s) => ({ name: `masq-${hash(`${network}\n${s}`)}`, comment: `${network} ${s}` }));
  const [ifSet, macSet] = [`spoof-if-${hash(network)}`, `spoof-mac-${hash(network)}`];
  return {
    sets: [...masq.map((m) => `inet ${m.name} ${m.comment}`), `bridge ${ifSet} ${network}`, `bridge ${macSet} ${network}`],
    rules: [...masq.map((m) => `inet postrouting @${m.name}`), `bridge prerouting @${ifSet} @${macSet}`],
  };
}

/** What stays of ours whatever the networks: the two base chains, and the multicast returns. */
const FIXED = { chains: ['inet postrouting', 'bridge prerouting'], rules: ['inet postrouting', 'inet postrouting'] };

function expected(...networks: Array<{ sets: string[]; rules: string[] }>) {
  return {
    sets: networks.flatMap((n) => n.sets).sort(),
    rules: [...FIXED.rules, ...networks.flatMap((n) => n.rules)].sort(),
    chains: FIXED.chains,
  };
}

function nets(node: Netns) {
  const a = bridgeConf({ name: 'neta', dataDir: tempDir('ipam'), extra: { macspoofchk: true } });
  const b = bridgeConf({ name: 'netb', bridge: 'fcnibr1', subnet: '10.98.0.0/24', dataDir: tempDir('ipam'), extra: { macspoofchk: true } });
  const add = async (conf: Json, id: string) => {
    const pod = makeNetns('pod');
    const res = await cni('ADD', { node, pod, id, conf });
    expect(res.code, res.stdout + res.stderr).toBe(0);
    return pod;
  };
  const del = async (conf: Json, id: string, pod: Netns) => {
    const res = await cni('DEL', { node, pod, id, conf });
    expect(res.code, res.stdout + res.stderr).toBe(0);
  };
  return { a, b, add, del };
}

describe("a network's nf_tables sets and rules", () => {
  it('go with its last pod; another network keeps its own', async () => {
    const node = makeNetns('node');
    const { a, b, add, del } = nets(node);
    const a1 = await add(a, 'ctr-a1');
    const a2 = await add(a, 'ctr-a2');
    const b1 = await add(b, 'ctr-b1');
    const netA = networkObjects('neta', ['10.99.0.0/24']);
    const netB = networkObjects('netb', ['10.98.0.0/24']);
    expect(ourObjects(node)).toEqual(expected(netA, netB));

    await del(a, 'ctr-a1', a1);
    expect(ourObjects(node)).toEqual(expected(netA, netB));
    await del(a, 'ctr-a2', a2);
    expect(ourObjects(node)).toEqual(expected(netB));
    await del(a, 'ctr-a2', a2); // idempotent
    expect(ourObjects(node)).toEqual(expected(netB));

    // and the network comes back with its next pod
    const a3 = await add(a, 'ctr-a3');
    expect(ourObjects(node)).toEqual(expected(netA, netB));
    await del(a, 'ctr-a3', a3);
    await del(b, 'ctr-b1', b1);
    expect(ourObjects(node)).toEqual(expected());
  });

  it('go in GC once no attachment of the network is valid, also when a set was already empty', async () => {
    const node = makeNetns('node');
    const { a, b, add } = nets(node);
    await add(a, 'ctr-a1');
    const b1 = await add(b, 'ctr-b1');
    const netB = networkObjects('netb', ['10.98.0.0/24']);
    const gc = (conf: Json, valid: string[]) =>
      cni('GC', {
        node,
        id: 'gc',
        conf: { ...conf, cniVersion: '1.1.0', 'cni.dev/valid-attachments': valid.map((containerID) => ({ containerID, ifname: 'eth0' })) },
      });
    const res = await gc(a, []);
    expect(res.code, res.stdout + res.stderr).toBe(0);
    expect(ourObjects(node)).toEqual(expected(netB));

    // an element removed by hand leaves an empty set that no DEL looks at: GC takes it
    const address = cidrsOf(b1, 'eth0')[0]!.split('/')[0]!;
    inNs(node.name, 'nft', `delete element inet fastcni masq-${hash('netb\n10.98.0.0/24')} { ${address} }`);
    expect(masqElements(node)).toEqual([]);
    expect((await gc(b, ['ctr-b1'])).code).toBe(0);
    const spoofOnly = { sets: netB.sets.filter((s) => s.startsWith('bridge')), rules: netB.rules.filter((r) => r.startsWith('bridge')) };
    expect(ourObjects(node)).toEqual(expected(spoofOnly));
  });

  it('hold exactly the live pods after concurrent ADDs and DELs from separate processes', async () => {
    const node = makeNetns('node');
    const conf = bridgeConf({ name: 'neta', dataDir: tempDir('ipam'), extra: { macspoofchk: true } });
    // Two agents and the launcher's fallback to Node: three kinds of process doing the same work.
    const agents = await Promise.all([startAgentProcess(), startAgentProcess()]);
    const sockets = [...agents.map((g) => g.socketPath), `${tempDir('none')}/no-agent.sock`];
    const run = (command: string, pod: Netns, id: string, via: number) =>
      runLauncher({
        plugin: 'bridge',
        nodeNs: node.name,
        socketPath: sockets[via % sockets.length]!,
        env: cniEnv(command, { id, netns: pod.path }),
        stdin: JSON.stringify(conf),
      });
    const WORKERS = 4;
    const ROUNDS = 6;
    const failures: string[] = [];
    const alive: Array<{ id: string; pod: Netns }> = [];
    await Promise.all(
      Array.from({ length: WORKERS }, async (_, w) => {
        const pod = makeNetns('pod');
        for (let r = 0; r < ROUNDS; r++) {
          const id = `ctr-w${w}-r${r}`;
          const added = await run('ADD', pod, id, w + r);
          if (added.code !== 0) failures.push(`ADD ${id}: ${added.stdout}${added.stderr}`);
          // even workers keep their last pod
          if (w % 2 === 0 && r === ROUNDS - 1) {
            alive.push({ id, pod });
            continue;
          }
          const deleted = await run('DEL', pod, id, w + r + 1);
          if (deleted.code !== 0) failures.push(`DEL ${id}: ${deleted.stdout}${deleted.stderr}`);
        }
      }),
    );
    expect(failures).toEqual([]);
    const elements = masqElements(node);
    expect(elements).toHaveLength(alive.length);
    for (const p of alive) {
      const address = cidrsOf(p.pod, 'eth0')[0]!.split('/')[0]!;
      expect(elements.filter((e) => e.includes(`"${address}"`) && e.includes(`"${p.id}/eth0"`))).toHaveLength(1);
    }
    expect(ourObjects(node)).toEqual(expected(networkObjects('neta', ['10.99.0.0/24'])));
    for (const p of alive) {
      const res = await run('DEL', p.pod, p.id, 0);
      expect(res.code, res.stdout + res.stderr).toBe(0);
    }
    expect(ourObjects(node)).toEqual(expected());
    await Promise.all(agents.map((g) => g.stop()));
  }, 120_000);
});
