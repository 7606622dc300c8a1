// The hostile-input corpus (test/corpus/) through the launcher, as a runtime execs it: for every case
// the expected CNI code, a message naming the field, exit 1, no stack trace, and nothing changed in
// the node or pod namespace or under the state directory. All cases run with the agent absent (the
// launcher falls back to Node); a sample runs again through an agent.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runLauncher, startAgentProcess } from '../helpers/agent.js';
import { corpusInput, corpusSnapshot, loadCorpus, type CorpusCase } from '../helpers/corpus.js';
import { ip, removeNetns, RUN_PREFIX, type Netns } from '../helpers/netns.js';
import { SHIPPED_PLUGINS } from '../helpers/run-plugin.js';

const CASES = loadCorpus();
/** A frame of a JavaScript stack trace, or a Rust panic. */
const STACK = /^\s+at\s|panicked at|RUST_BACKTRACE/m;

interface Place {
  node: Netns;
  pod: Netns;
  stateDir: string;
}

function namespace(label: string): Netns {
  const name = `${RUN_PREFIX}corpus-${label}-${randomBytes(3).toString('hex')}`;
  ip('netns', 'add', name);
  ip('-n', name, 'link', 'set', 'lo', 'up');
  return { name, path: `/var/run/netns/${name}` };
}

/**
 * A node with a master device and a veth into the pod (eth0), and a state directory holding another
 * pod's files (an IPAM reservation, a tuning backup, a flannel scratch file, a subnet.env), so that a
 * rejected call that touched any of them shows in the snapshot.
 */
function makePlace(): Place {
  const place = { node: namespace('node'), pod: namespace('pod'), stateDir: mkdtempSync(join(tmpdir(), 'fcni-t-corpus-')) };
  try {
    fillPlace(place);
  } catch (e) {
    dropPlace(place);
    throw e;
  }
  return place;
}

function fillPlace({ node, pod, stateDir }: Place): void {
  // a veth end as the master (the dummy module may be missing)
  ip('-n', node.name, 'link', 'add', 'corpmaster0', 'type', 'veth', 'peer', 'name', 'corpmaster1');
  ip('-n', node.name, 'link', 'add', 'vethcorp0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', pod.name);
  ip('-n', pod.name, 'addr', 'add', '10.98.0.2/24', 'dev', 'eth0');
  for (const dir of ['ipam/corpusnet', 'tuning', 'flannel']) mkdirSync(join(stateDir, dir), { recursive: true });
  writeFileSync(join(stateDir, 'ipam/corpusnet/10.98.0.9'), 'other\neth0');
  writeFileSync(join(stateDir, 'ipam/corpusnet/last_reserved_ip.0'), '10.98.0.9');
  writeFileSync(join(stateDir, 'tuning/other_eth0.json'), '{"mtu":1500}');
  writeFileSync(join(stateDir, 'flannel/other'), '{"type":"bridge"}');
  writeFileSync(
    join(stateDir, 'subnet.env'),
    'FLANNEL_NETWORK=10.98.0.0/16\nFLANNEL_SUBNET=10.98.0.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=false\n',
  );
}

function dropPlace(p: Place): void {
  removeNetns(p.pod.name);
  removeNetns(p.node.name);
  rmSync(p.stateDir, { recursive: true, force: true });
}

interface ErrJson {
  code?: number;
  msg?: string;
  details?: string;
}

async function expectRejected(c: CorpusCase, place: Place, socketPath: string): Promise<void> {
  const before = corpusSnapshot(place.node, place.pod, place.stateDir);
  const { stdin, env } = corpusInput(c, place);
  const res = await runLauncher({ plugin: c.plugin, env, stdin, socketPath, nodeNs: place.node.name });
  const output = `${c.id}: stdout ${res.stdout.slice(0, 2000)} stderr ${res.stderr.slice(0, 2000)}`;
  const err = (res.json ?? {}) as ErrJson;
  expect(res.code, output).toBe(1);
  expect(err.code, output).toBe(c.code);
  expect(`${err.msg ?? ''} ${err.details ?? ''}`, output).toContain(c.field);
  expect(`${res.stdout}\n${res.stderr}`, output).not.toMatch(STACK);
  expect(corpusSnapshot(place.node, place.pod, place.stateDir), c.id).toEqual(before);
}

describe('hostile-input corpus', () => {
  it('has at least 100 cases with distinct ids, over every plugin we ship', () => {
    expect(CASES.length).toBeGreaterThanOrEqual(100);
    expect(new Set(CASES.map((c) => c.id)).size).toBe(CASES.length);
    expect([...new Set(CASES.map((c) => c.plugin))].sort()).toEqual([...SHIPPED_PLUGINS].sort());
  });

  describe('through the launcher, agent absent', () => {
    let place: Place;
    const noAgent = join(tmpdir(), `fcni-t-corpus-no-agent-${randomBytes(3).toString('hex')}.sock`);
    beforeAll(() => {
      place = makePlace();
    });
    afterAll(() => dropPlace(place));

    for (const c of CASES) {
      // a known defect fails here until it is fixed; then this flips and the mark must go
      const test = c.knownDefect ? it.fails : it;
      test(`${c.file} ${c.id} → ${c.code}${c.knownDefect ? ` (known defect: ${c.knownDefect})` : ''}`, async () => {
        await expectRejected(c, place, noAgent);
      });
    }
  });

  it('a sample of the corpus gives the same answers through the agent', async () => {
    const agent = await startAgentProcess();
    const place = makePlace();
    try {
      // and every 1 MB one: over the agent's frame limit, the launcher has Node answer it as without an agent
      const sample = CASES.filter((c, i) => (i % 6 === 0 || JSON.stringify(c).includes('1048576')) && !c.knownDefect);
      for (const c of sample) await expectRejected(c, place, agent.socketPath);
    } finally {
      dropPlace(place);
    }
    // the agent is still serving after all of it
    expect(agent.proc.exitCode).toBeNull();
  });
});
