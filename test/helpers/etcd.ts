// etcd for the cluster tests: Debian's etcd-server (installed by scripts/setup.sh), one member or a
// cluster of three, each on 127.0.0.1 ports of its own with its data under a temporary directory,
// stopped (and its data removed) when the test ends. Members can be stopped and started again, as
// the tests of lease recovery need. `launchEtcd` is the same without vitest (the benchmark and the
// demo call `close()` themselves).
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { onTestFinished } from 'vitest';

export const ETCD_BIN = '/usr/bin/etcd';
export const haveEtcd = existsSync(ETCD_BIN);

export interface EtcdMember {
  readonly name: string;
  /** http://127.0.0.1:<port> */
  readonly clientUrl: string;
  readonly peerUrl: string;
  readonly running: boolean;
  /** SIGTERM (or SIGKILL with `hard`) and wait for the exit; the data directory stays */
  stop(hard?: boolean): Promise<void>;
  /** start again on the same ports and data, and wait until it answers /health */
  start(): Promise<void>;
  /** its log so far */
  log(): string;
}

export interface EtcdCluster {
  readonly members: EtcdMember[];
  /** every member's client URL, for the agents' `etcd.endpoints` */
  readonly endpoints: string[];
  /** SIGKILL every member and remove the data */
  close(): Promise<void>;
}

/** A free TCP port on 127.0.0.1 (the kernel's choice; closed again before etcd binds it). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      s.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

async function healthy(clientUrl: string): Promise<boolean> {
  try {
    const r = await fetch(`${clientUrl}/health`, { signal: AbortSignal.timeout(500) });
    return r.ok && ((await r.json()) as { health?: string }).health === 'true';
  } catch {
    return false;
  }
}

/**
 * Start `size` members (1 or 3) forming one cluster and wait until each reports healthy.
 * Everything is stopped and removed when the test finishes.
 */
export async function startEtcd(size = 1): Promise<EtcdCluster> {
  let cluster: EtcdCluster | undefined;
  onTestFinished(async () => {
    await cluster?.close();
  });
  cluster = await launchEtcd(size);
  return cluster;
}

/** `startEtcd` outside vitest: the caller calls `close()` (also after a failed start: it throws then, having cleaned up). */
export async function launchEtcd(size = 1): Promise<EtcdCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'fcni-t-etcd-'));
  const ports = await Promise.all(Array.from({ length: 2 * size }, () => freePort()));
  const token = `fcni-${process.pid}-${ports[0]}`;
  const specs = Array.from({ length: size }, (_, i) => ({
    name: `m${i}`,
    clientUrl: `http://127.0.0.1:${ports[2 * i]}`,
    peerUrl: `http://127.0.0.1:${ports[2 * i + 1]}`,
  }));
  const initialCluster = specs.map((s) => `${s.name}=${s.peerUrl}`).join(',');
  const members = specs.map((s) => member(s, join(dir, s.name), initialCluster, token));
  const close = async () => {
    await Promise.all(members.map((m) => m.stop(true)));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await Promise.all(members.map((m) => m.start()));
  } catch (e) {
    await close();
    throw e;
  }
  return { members, endpoints: specs.map((s) => s.clientUrl), close };
}

/** The name of the member that is the raft leader now, asked of the running members (undefined: none answers). */
export async function etcdLeader(cluster: EtcdCluster): Promise<string | undefined> {
  const names = new Map<string, string>();
  let leader: string | undefined;
  for (const m of cluster.members.filter((x) => x.running)) {
    try {
      const r = await fetch(`${m.clientUrl}/v3/maintenance/status`, { method: 'POST', body: '{}', signal: AbortSignal.timeout(1000) });
      const s = (await r.json()) as { header?: { member_id?: string }; leader?: string };
      if (s.header?.member_id) names.set(s.header.member_id, m.name);
      leader ??= s.leader;
    } catch {
      /* that member does not answer: ask the next */
    }
  }
  return leader === undefined ? undefined : names.get(leader);
}

function member(
  spec: { name: string; clientUrl: string; peerUrl: string },
  dataDir: string,
  initialCluster: string,
  token: string,
): EtcdMember {
  let proc: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  let out = '';
  const args = [
    `--name=${spec.name}`,
    `--data-dir=${dataDir}`,
    `--listen-client-urls=${spec.clientUrl}`,
    `--advertise-client-urls=${spec.clientUrl}`,
    `--listen-peer-urls=${spec.peerUrl}`,
    `--initial-advertise-peer-urls=${spec.peerUrl}`,
    `--initial-cluster=${initialCluster}`,
    `--initial-cluster-token=${token}`,
    '--initial-cluster-state=new',
    // short elections, so that a stopped member's place is taken quickly
    '--heartbeat-interval=50',
    '--election-timeout=500',
    '--logger=zap',
    '--log-outputs=stderr',
  ];
  const m: EtcdMember = {
    name: spec.name,
    clientUrl: spec.clientUrl,
    peerUrl: spec.peerUrl,
    get running() {
      return proc !== undefined && proc.exitCode === null && proc.signalCode === null;
    },
    async stop(hard = false) {
      if (!m.running) return exited;
      proc!.kill(hard ? 'SIGKILL' : 'SIGTERM');
      await exited;
    },
    async start() {
      if (m.running) return;
      const p = spawn(ETCD_BIN, args, { stdio: ['ignore', 'ignore', 'pipe'] });
      proc = p;
      p.stderr!.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.length > 1 << 20) out = out.slice(-(1 << 19));
      });
      exited = new Promise<void>((resolve) => p.once('exit', () => resolve()));
      for (let i = 0; i < 200; i++) {
        if (!m.running) throw new Error(`etcd ${spec.name} exited at start:\n${out.slice(-4000)}`);
        if (await healthy(spec.clientUrl)) return;
        await sleep(50);
      }
      throw new Error(`etcd ${spec.name} did not become healthy in 10 s:\n${out.slice(-4000)}`);
    },
    log: () => out,
  };
  return m;
}
