// No path built from input escapes its directory: host-local, tuning and flannel — the plugins that
// name files after the container ID, network name or interface name — get hostile values in each of
// those through the launcher (ADD, DEL and GC, the latter with hostile valid attachments too), and
// nothing is created, changed or removed outside their data directories; every refusal is code 4
// or 7. The bulk runs through an agent, a sample again through the Node fallback.
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runLauncher, startAgentProcess } from '../helpers/agent.js';
import { makeNetns, type Netns } from '../helpers/netns.js';
import { tempDir } from '../helpers/fixtures.js';
import { OUR_BIN } from '../helpers/run-plugin.js';
import { ESCAPE_TARGETS, HOSTILE_NAMES } from '../helpers/security.js';

/** No NUL (an environment variable cannot hold one) and not empty (a missing ID is code 3, below). */
const HOSTILE = HOSTILE_NAMES.filter((v) => v !== '' && !v.includes('\0'));

/** Every file and directory below `root` with its content, except under `skip`. */
function tree(root: string, skip: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name);
      if (path === skip) continue;
      const st = lstatSync(path);
      if (st.isDirectory()) {
        out[`${path}/`] = '';
        walk(path);
      } else out[path] = st.isFile() ? readFileSync(path, 'utf8') : 'other';
    }
  };
  walk(root);
  return out;
}

interface Place {
  root: string;
  /** the plugins' data directories all live below this one */
  state: string;
  node: Netns;
  pod: Netns;
}

function makePlace(): Place {
  const root = tempDir('sec-paths');
  const state = join(root, 'state', 'data');
  for (const d of ['ipam', 'tuning', 'flannel']) mkdirSync(join(state, d), { recursive: true });
  // what an escape would hit: files beside and above the data directories
  mkdirSync(join(root, 'outside'));
  writeFileSync(join(root, 'outside', 'canary'), 'keep');
  writeFileSync(join(root, 'state', 'x_eth0.json'), '{"mtu":1500}');
  writeFileSync(join(root, 'state', 'x'), '{"type":"bridge"}');
  writeFileSync(
    join(state, 'subnet.env'),
    'FLANNEL_NETWORK=10.95.0.0/16\nFLANNEL_SUBNET=10.95.1.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=false\n',
  );
  return { root, state, node: makeNetns('node'), pod: makeNetns('pod') };
}

function configs(p: Place, name: string): Record<string, unknown> {
  return {
    'host-local': {
      cniVersion: '1.1.0',
      name,
      type: 'host-local',
      ipam: { type: 'host-local', subnet: '10.95.0.0/24', dataDir: join(p.state, 'ipam') },
    },
    tuning: {
      cniVersion: '1.1.0',
      name,
      type: 'tuning',
      dataDir: join(p.state, 'tuning'),
      mtu: 1400,
      prevResult: { cniVersion: '1.1.0', interfaces: [{ name: 'eth0', sandbox: p.pod.path }], ips: [] },
    },
    flannel: {
      cniVersion: '1.1.0',
      name,
      type: 'flannel',
      subnetFile: join(p.state, 'subnet.env'),
      dataDir: join(p.state, 'flannel'),
      // the delegate's host-local keeps its files in the test's directory, never the node's /var/lib/cni
      ipam: { dataDir: join(p.state, 'ipam') },
      delegate: { bridge: 'fcnisecp0' },
    },
  };
}

interface Run {
  plugin: string;
  command: string;
  id: string;
  ifname: string;
  name: string;
  /** GC's valid attachment, hostile as well */
  valid?: { containerID: string; ifname: string };
}

/** Every hostile value in each field, for each plugin and command. */
function runs(): Run[] {
  const out: Run[] = [];
  for (const plugin of ['host-local', 'tuning', 'flannel']) {
    for (const v of HOSTILE) {
      for (const command of ['ADD', 'DEL', 'GC']) {
        out.push({ plugin, command, id: v, ifname: 'eth0', name: 'secnet' });
        out.push({ plugin, command, id: 'sec1', ifname: v, name: 'secnet' });
        out.push({ plugin, command, id: 'sec1', ifname: 'eth0', name: v });
      }
      out.push({ plugin, command: 'GC', id: 'sec1', ifname: 'eth0', name: 'secnet', valid: { containerID: v, ifname: v } });
    }
  }
  return out;
}

async function check(p: Place, r: Run, socketPath: string): Promise<void> {
  const before = tree(p.root, p.state);
  const conf = { ...(configs(p, r.name)[r.plugin] as object), ...(r.valid ? { 'cni.dev/valid-attachments': [r.valid] } : {}) };
  const res = await runLauncher({
    plugin: r.plugin,
    env: { CNI_COMMAND: r.command, CNI_CONTAINERID: r.id, CNI_IFNAME: r.ifname, CNI_NETNS: p.pod.path, CNI_PATH: OUR_BIN },
    stdin: JSON.stringify(conf),
    socketPath,
    nodeNs: p.node.name,
  });
  const what = `${JSON.stringify(r)}: ${res.code} ${res.stdout} ${res.stderr}`;
  if (res.code !== 0) expect([4, 7], what).toContain((res.json as { code?: number } | undefined)?.code);
  expect(tree(p.root, p.state), what).toEqual(before);
  for (const abs of ESCAPE_TARGETS) expect(existsSync(abs), `${what}: ${abs}`).toBe(false);
}

describe('paths built from container IDs, network names and interface names', () => {
  it('through the agent: ADD, DEL and GC of host-local, tuning and flannel never touch a file outside their data directories', async () => {
    const p = makePlace();
    const agent = await startAgentProcess();
    const all = runs();
    expect(all.length).toBeGreaterThan(200);
    for (const r of all) await check(p, r, agent.socketPath);
    expect(readFileSync(join(p.root, 'outside', 'canary'), 'utf8')).toBe('keep');
    expect(agent.proc.exitCode).toBeNull();
  });

  it('through the Node fallback, a sample: the same', async () => {
    const p = makePlace();
    const noAgent = join(p.root, 'no-agent.sock');
    const sample = runs().filter((_, i) => i % 9 === 0);
    for (const r of sample) await check(p, r, noAgent);
  });
});
