// The agent under abuse: a non-root caller, oversized and garbage frames, an invoke frame without the
// caller's descriptors, and a SIGKILL in the middle of a burst of 100 ADDs through the launcher
// (every pod set up or given an error; DEL leaves nothing).
import { chmodSync, existsSync } from 'node:fs';
import { connect } from 'node:net';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { agentStatus } from '../../src/agent/status.js';
import { decodeResponse, encodeInvoke, MAGIC, PROTOCOL_VERSION, type Response } from '../../src/agent/protocol.js';
import { runLauncher, startAgentProcess } from '../helpers/agent.js';
import { addrs, bridgeConf, bridgePorts, cidrsOf, tempDir } from '../helpers/fixtures.js';
import { hlConf } from '../helpers/host-local.js';
import { pool, reservations } from '../helpers/load.js';
import { makeNetns, type Netns } from '../helpers/netns.js';
import { masqElements } from '../helpers/nft.js';
import { OUR_BIN, type PluginRun } from '../helpers/run-plugin.js';

/** Send raw bytes, read until the agent closes; the decoded answer, or undefined when it said nothing. */
function rawExchange(socketPath: string, bytes: Buffer, opts: { end?: boolean } = {}): Promise<Response | undefined> {
  return new Promise((resolve, reject) => {
    const sock = connect(socketPath);
    const chunks: Buffer[] = [];
    sock.on('connect', () => (opts.end === false ? sock.write(bytes) : sock.end(bytes)));
    sock.on('data', (c: Buffer) => chunks.push(c));
    sock.on('error', (e: NodeJS.ErrnoException) => (e.code === 'EPIPE' || e.code === 'ECONNRESET' ? undefined : reject(e)));
    sock.on('close', () => resolve(chunks.length ? decodeResponse(Buffer.concat(chunks)) : undefined));
  });
}

function hlRequest(dataDir: string, id: string): { env: Record<string, string>; stdin: string } {
  return {
    env: { CNI_COMMAND: 'ADD', CNI_CONTAINERID: id, CNI_IFNAME: 'eth0', CNI_NETNS: '/run/netns/fcni-t-absent', CNI_PATH: OUR_BIN },
    stdin: JSON.stringify(hlConf({ dataDir, ranges: [[{ subnet: '10.77.0.0/24' }]] })),
  };
}

describe('agent refuses what it must', () => {
  it('refuses a non-root peer even when the socket permissions are loosened', async () => {
    const agent = await startAgentProcess();
    const nobody = ['setpriv', '--reuid', '65534', '--regid', '65534', '--clear-groups'];
    // As installed, the 0700 directory keeps others from even connecting (the launcher falls back).
    const scratch = tempDir('hl-scratch');
    chmodSync(scratch, 0o777);
    await runLauncher({ plugin: 'host-local', ...hlRequest(scratch, 'ctr-nobody0'), socketPath: agent.socketPath, prefix: nobody });
    expect(await agentStatus(agent.socketPath)).toMatchObject({ requests: 0, refused: 0 });
    // Loosen the directories and the socket to reach the uid check behind them.
    chmodSync(dirname(agent.socketPath), 0o755);
    chmodSync(dirname(dirname(agent.socketPath)), 0o755);
    chmodSync(agent.socketPath, 0o666);
    const dataDir = tempDir('hl');
    chmodSync(dataDir, 0o777);
    const req = hlRequest(dataDir, 'ctr-nobody');
    const run = await runLauncher({ plugin: 'host-local', ...req, socketPath: agent.socketPath, prefix: nobody });
    expect(run.code).toBe(1);
    expect(JSON.parse(run.stdout)).toEqual({
      code: 999,
      msg: 'fastcni agent refused the request',
      details: 'peer uid 65534 is not allowed (root only)',
    });
    expect(agent.logs()).toContainEqual(expect.objectContaining({ level: 'warn', msg: 'request refused', uid: 65534 }));
    expect(existsSync(join(dataDir, 'net1'))).toBe(false);
    const status = await agentStatus(agent.socketPath);
    expect(status).toMatchObject({ requests: 0, refused: 1 });
    // root is still served
    const ok = await runLauncher({ plugin: 'host-local', ...hlRequest(dataDir, 'ctr-root'), socketPath: agent.socketPath });
    expect(ok.code).toBe(0);
  });

  it('rejects oversized, garbage, truncated and descriptor-less frames with a logged reason and keeps serving', async () => {
    const agent = await startAgentProcess();
    const dataDir = tempDir('hl');
    const big = encodeInvoke({ plugin: 'host-local', env: { CNI_COMMAND: 'ADD' }, stdin: Buffer.alloc(2 << 20, 0x20) });
    const answers = [
      await rawExchange(agent.socketPath, big.subarray(0, 64 * 1024), { end: false }), // header announces 2 MiB
      await rawExchange(agent.socketPath, Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n')),
      await rawExchange(
        agent.socketPath,
        Buffer.concat([MAGIC, Buffer.from([PROTOCOL_VERSION, 1, 0, 0, 0, 5]), Buffer.from([0, 200, 1, 2, 3])]),
      ),
      await rawExchange(agent.socketPath, encodeInvoke({ plugin: 'host-local', env: {}, stdin: Buffer.from('{}') }).subarray(0, 20)),
      await rawExchange(agent.socketPath, Buffer.concat([MAGIC, Buffer.from([PROTOCOL_VERSION, 7]), Buffer.alloc(4)])),
      await rawExchange(agent.socketPath, Buffer.from('GE')), // garbage shorter than the magic
    ];
    const reasons = answers.map((a) => (a?.kind === 'refused' ? a.reason : `not refused: ${JSON.stringify(a)}`));
    expect(reasons[0]).toMatch(/exceeds the limit of 1048576/);
    expect(reasons[1]).toMatch(/bad magic/);
    expect(reasons[2]).toMatch(/truncated invoke payload/);
    expect(reasons[3]).toMatch(/incomplete frame/);
    expect(reasons[4]).toMatch(/unknown request kind/);
    expect(reasons[5]).toMatch(/bad magic/);
    const refusals = agent.logs().filter((l) => l.msg === 'request refused');
    expect(refusals).toHaveLength(6);
    // a whole invoke frame, but without the caller's descriptors: the agent cannot tell where its
    // paths and namespaces are, so it runs nothing
    const r = hlRequest(dataDir, 'ctr-raw');
    const bare = await rawExchange(agent.socketPath, encodeInvoke({ plugin: 'host-local', env: r.env, stdin: Buffer.from(r.stdin) }));
    expect(bare).toEqual({
      kind: 'refused',
      reason:
        'malformed request: an invoke frame carries 4 descriptors (network namespace, mount namespace, root directory, working directory), this one 0',
    });
    expect(existsSync(join(dataDir, 'net1'))).toBe(false);
    // still serving through the launcher, which sends them
    const run = await runLauncher({ plugin: 'host-local', ...hlRequest(dataDir, 'ctr-after'), socketPath: agent.socketPath });
    expect(JSON.parse(run.stdout).ips[0].address).toBe('10.77.0.2/24');
    expect(await agentStatus(agent.socketPath)).toMatchObject({ requests: 1, errors: 0, refused: 7 });
  });
});

describe('agent killed mid-burst', () => {
  it('100 ADDs through the launcher, SIGKILL part-way: each pod set up or given an error; DEL of all leaves nothing', {
    timeout: 240_000,
  }, async () => {
    const N = 100;
    const node = makeNetns('node');
    const pods: Netns[] = Array.from({ length: N }, (_, i) => makeNetns(`p${i}`));
    const dataDir = tempDir('burst');
    const conf = bridgeConf({ dataDir, subnet: '10.98.0.0/24' });
    const agent = await startAgentProcess();
    const env = (cmd: string, i: number): Record<string, string> => ({
      CNI_COMMAND: cmd,
      CNI_CONTAINERID: `burst-${i}`,
      CNI_IFNAME: 'eth0',
      CNI_NETNS: pods[i]!.path,
      CNI_PATH: OUR_BIN,
    });
    let answered = 0;
    let killed = false;
    const adds: PluginRun[] = await pool(N, 16, async (i) => {
      const r = await runLauncher({
        plugin: 'bridge',
        env: env('ADD', i),
        stdin: JSON.stringify(conf),
        socketPath: agent.socketPath,
        nodeNs: node.name,
      });
      if (++answered === 25 && !killed) {
        killed = true;
        agent.proc.kill('SIGKILL');
      }
      return r;
    });
    expect(killed).toBe(true);
    const ok = adds.filter((r) => r.code === 0).length;
    const tryAgain = adds.filter((r) => r.code !== 0);
    // a failure is always the clear code-11 answer, never a partial result
    for (const r of tryAgain) {
      expect(r.code).toBe(1);
      expect(JSON.parse(r.stdout)).toMatchObject({ code: 11, msg: expect.stringContaining('connection lost') });
    }
    console.log(`burst: ${ok} set up, ${tryAgain.length} told to try again`);
    const reserved = reservations(dataDir, 'testnet');
    for (let i = 0; i < N; i++) {
      const r = adds[i]!;
      const have = cidrsOf(pods[i]!, 'eth0');
      if (r.code === 0) {
        // fully set up: the address in the result is on eth0, reserved for this container, masqueraded
        const address = (r.json as { ips: Array<{ address: string }> }).ips[0]!.address;
        expect(have).toEqual([address]);
        expect(reserved.get(address.split('/')[0]!)).toBe(`burst-${i}`);
      } else if (have.length > 0) {
        // the agent died after wiring this pod: whatever it left is consistent and DEL removes it
        expect(reserved.get(have[0]!.split('/')[0]!)).toBe(`burst-${i}`);
      }
    }
    // every address on a pod is reserved for that pod; no reservation names an unknown container
    for (const id of reserved.values()) expect(id).toMatch(/^burst-\d+$/);

    // DEL all through a fresh agent that replaces the stale socket
    const agent2 = await startAgentProcess({ socketPath: agent.socketPath });
    const dels = await pool(N, 16, (i) =>
      runLauncher({ plugin: 'bridge', env: env('DEL', i), stdin: JSON.stringify(conf), socketPath: agent2.socketPath, nodeNs: node.name }),
    );
    for (const d of dels) expect(d).toMatchObject({ code: 0, stdout: '' });
    expect(bridgePorts(node, 'fcnibr0')).toEqual([]);
    expect(addrs(node).filter((l) => l.linkinfo?.info_kind === 'veth')).toEqual([]);
    for (const p of pods) expect(addrs(p).map((l) => l.ifname)).toEqual(['lo']);
    expect([...reservations(dataDir, 'testnet').keys()]).toEqual([]);
    expect(masqElements(node)).toEqual([]);
    expect((await agentStatus(agent2.socketPath)).latency['bridge DEL']?.count).toBe(N);
  });
});
