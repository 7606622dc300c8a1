// The modes compared in one run: the reference plugins, our three paths, and the kernel floor.
// Each prepares itself in a fresh node namespace and then performs one ADD or DEL per call.
import { existsSync, openSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { Helper } from './helper.js';
import { inNs, ip, type Sandbox } from './sandbox.js';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const DEBIAN_BIN = '/usr/lib/cni';
export const REF_BIN = join(ROOT, '.cache', 'bin', 'ref');
export const OUR_BIN = join(ROOT, 'dist', 'cni');
export const HELPER_BIN = join(ROOT, '.cache', 'floor-target', 'release', 'fcni-bench-floor');
export const FASTCNI = join(ROOT, 'dist', 'src', 'cli', 'fastcni.js');
export const LIBRARY = join(ROOT, 'dist', 'src', 'index.js');
const AGENT_STATUS = join(ROOT, 'dist', 'src', 'agent', 'status.js');

export const MODE_IDS = ['debian', 'ref-nft', 'agent', 'noagent', 'inproc', 'floor'] as const;
export type ModeId = (typeof MODE_IDS)[number];

export const MODE_LABELS: Record<ModeId, string> = {
  debian: 'Debian reference v1.1.1 (iptables masq)',
  'ref-nft': 'newest reference (nftables masq)',
  agent: 'fastcni launcher + agent',
  noagent: 'fastcni launcher, no agent',
  inproc: 'fastcni in-process',
  floor: 'kernel floor',
};

export const SUBNET = '10.88.0.0/16';
export const GATEWAY = '10.88.0.1';
export const BRIDGE = 'fcnib0';

export interface Pod {
  index: number;
  ns: string;
  path: string;
  id: string;
}

export interface OpOutcome {
  ms: number;
  error?: string;
}

export interface Runner {
  op(pod: Pod, cmd: 'ADD' | 'DEL', worker: number): Promise<OpOutcome>;
  /** resident set of the long-lived process of this mode (the agent), MB */
  rssMb?(): number | undefined;
  /** fastcni's per-phase time (src/phases.ts) since the previous call, for the modes that can read it */
  phases?(): Promise<PhaseTotal[]>;
  close(): Promise<void>;
}

/** A phase's summed time, as the library and the agent's status report it. */
export interface PhaseTotal {
  name: string;
  totalMs: number;
  count: number;
}

export interface ModeContext {
  sandbox: Sandbox;
  node: string;
  network: string;
  dataDir: string;
  workers: number;
  /** run podman's chain (CHAIN_PLUGINS) for each pod instead of the bridge alone */
  chain?: boolean;
}

/** The chain podman's CNI backend writes for a bridge network, in libcni's order for ADD. */
export const CHAIN_PLUGINS = ['bridge', 'portmap', 'firewall', 'tuning'] as const;
type ChainPlugin = (typeof CHAIN_PLUGINS)[number];

const isElf = (p: string) =>
  existsSync(p) &&
  readFileSync(p)
    .subarray(0, 4)
    .equals(Buffer.from([0x7f, 0x45, 0x4c, 0x46]));

/** Why a mode cannot run here, or undefined when it can. */
export function unavailable(mode: ModeId, chain = false): string | undefined {
  // the floor does the bridge's kernel work only; the newest reference is built with bridge and host-local only
  if (chain && (mode === 'floor' || mode === 'ref-nft')) return "not part of a --chain run (the chain is compared with Debian's reference)";
  const need = (p: string, how: string) => (existsSync(p) ? undefined : `${p} missing (${how})`);
  switch (mode) {
    case 'debian':
      return (
        need(join(DEBIAN_BIN, 'bridge'), 'apt-get install containernetworking-plugins') ??
        need('/usr/sbin/iptables', 'apt-get install iptables')
      );
    case 'ref-nft':
      return need(join(REF_BIN, 'bridge'), 'make bench builds it');
    case 'agent':
      if (!existsSync(FASTCNI)) return `${FASTCNI} missing (npm run build)`;
      return isElf(join(OUR_BIN, 'bridge')) ? undefined : 'dist/cni/bridge is not the native launcher yet';
    case 'noagent':
      return need(join(OUR_BIN, 'bridge'), 'npm run build && node scripts/make-bin-dir.mjs');
    case 'inproc':
      return need(LIBRARY, 'npm run build');
    case 'floor':
      return need(HELPER_BIN, 'make bench builds it');
  }
}

/** bridge + host-local with masquerade, a /16 so 1000 pods fit. */
export function networkConfig(mode: ModeId, network: string, dataDir: string): string {
  return JSON.stringify({
    cniVersion: '1.0.0',
    name: network,
    type: 'bridge',
    bridge: BRIDGE,
    isGateway: true,
    ipMasq: true,
    ...(mode === 'ref-nft' ? { ipMasqBackend: 'nftables' } : {}),
    ipam: { type: 'host-local', ranges: [[{ subnet: SUBNET, gateway: GATEWAY }]], routes: [{ dst: '0.0.0.0/0' }], dataDir },
  });
}

/**
 * One plugin's config in podman's chain as libcni hands it over: the network's name and version, the
 * portMappings capability as runtimeConfig (a host port per pod), and the previous plugin's result.
 */
function chainConfig(mode: ModeId, plugin: ChainPlugin, ctx: ModeContext, pod: Pod, prevResult?: unknown): string {
  const base = { cniVersion: '1.0.0', name: ctx.network, ...(prevResult !== undefined ? { prevResult } : {}) };
  switch (plugin) {
    case 'bridge':
      return JSON.stringify({ ...JSON.parse(networkConfig(mode, ctx.network, ctx.dataDir)), hairpinMode: true, ...base });
    case 'portmap':
      return JSON.stringify({
        type: 'portmap',
        runtimeConfig: { portMappings: [{ hostPort: 20000 + pod.index, containerPort: 80, protocol: 'tcp' }] },
        ...base,
      });
    default:
      return JSON.stringify({ type: plugin, ...base });
  }
}

/**
 * A pod's ADD or DEL through the whole chain, as libcni runs it: ADD in order, each plugin given the
 * result before it; DEL in reverse, each given the ADD's final result (libcni's cache). `run` execs
 * or invokes one plugin; the time is the sum of the plugins' times.
 */
export function chainRunner(
  mode: ModeId,
  ctx: ModeContext,
  run: (
    plugin: ChainPlugin,
    cmd: 'ADD' | 'DEL',
    pod: Pod,
    conf: string,
    worker: number,
  ) => Promise<{ code: number; us: number; stdout?: string; stderr?: string }>,
): Runner['op'] {
  const results = new Map<string, unknown>();
  return async (pod, cmd, worker) => {
    let us = 0;
    if (cmd === 'ADD') {
      let prev: unknown;
      for (const plugin of CHAIN_PLUGINS) {
        const r = await run(plugin, cmd, pod, chainConfig(mode, plugin, ctx, pod, prev), worker);
        us += r.us;
        if (r.code !== 0) return outcome(r.code, us, `${plugin}: ${r.stdout}`, r.stderr);
        prev = JSON.parse(r.stdout ?? '');
      }
      results.set(pod.id, prev);
      return outcome(0, us);
    }
    const prev = results.get(pod.id);
    results.delete(pod.id);
    for (const plugin of [...CHAIN_PLUGINS].reverse()) {
      const r = await run(plugin, cmd, pod, chainConfig(mode, plugin, ctx, pod, prev), worker);
      us += r.us;
      if (r.code !== 0) return outcome(r.code, us, `${plugin}: ${r.stdout}`, r.stderr);
    }
    return outcome(0, us);
  };
}

function cniEnv(cmd: string, pod: Pod, cniPath: string, extra: Record<string, string> = {}): Record<string, string> {
  // A clean environment, as a runtime gives it (no NODE_OPTIONS, no NODE_EXTRA_CA_CERTS).
  return {
    PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    CNI_COMMAND: cmd,
    CNI_CONTAINERID: pod.id,
    CNI_NETNS: pod.path,
    CNI_IFNAME: 'eth0',
    CNI_PATH: cniPath,
    ...extra,
  };
}

function outcome(code: number, us: number, stdout = '', stderr = ''): OpOutcome {
  return {
    ms: us / 1000,
    ...(code !== 0 ? { error: `exit ${code}: ${(stdout + stderr).replace(/\s+/g, ' ').trim().slice(0, 400)}` } : {}),
  };
}

/** Exec modes: one resident helper per worker inside the node namespace spawns the binary. */
function execRunner(
  ctx: ModeContext,
  mode: ModeId,
  binDir: string,
  extraEnv: Record<string, string> = {},
  onClose?: () => Promise<void>,
): Runner {
  const helpers = Array.from({ length: ctx.workers }, () => Helper.start(ctx.sandbox, HELPER_BIN, ctx.node));
  const conf = networkConfig(mode, ctx.network, ctx.dataDir);
  const exec = (plugin: string, cmd: 'ADD' | 'DEL', pod: Pod, stdin: string, worker: number) =>
    helpers[worker]!.exec(join(binDir, plugin), cniEnv(cmd, pod, binDir, extraEnv), stdin);
  return {
    op: ctx.chain
      ? chainRunner(mode, ctx, exec)
      : async (pod, cmd, worker) => {
          const r = await exec('bridge', cmd, pod, conf, worker);
          return outcome(r.code, r.us, r.stdout, r.stderr);
        },
    async close() {
      await Promise.all(helpers.map((h) => ctx.sandbox.kill(h.child)));
      await onClose?.();
    },
  };
}

function vmRssMb(pid: number | undefined): number | undefined {
  if (!pid) return undefined;
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

async function startAgent(ctx: ModeContext): Promise<{ socket: string; pid: number | undefined; stop: () => Promise<void> }> {
  const socket = join(ctx.sandbox.dir, `agent-${ctx.network}`, 'agent.sock');
  const log = openSync(join(ctx.sandbox.dir, `agent-${ctx.network}.log`), 'a');
  // The agent runs in the machine's namespace; it takes each request's host side from the peer.
  const child = ctx.sandbox.spawn(process.execPath, [FASTCNI, 'agent', '--socket', socket], {
    stdio: ['ignore', log, log],
    env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin' },
  });
  const deadline = Date.now() + 15000;
  while (!existsSync(socket)) {
    if (child.exitCode !== null) throw new Error(`agent exited with ${child.exitCode}; log in ${ctx.sandbox.dir}`);
    if (Date.now() > deadline) throw new Error('agent socket did not appear within 15 s');
    await new Promise((r) => setTimeout(r, 20));
  }
  return { socket, pid: child.pid, stop: () => ctx.sandbox.kill(child) };
}

/** The kernel floor: the resident helper does the per-pod kernel work itself. */
function floorRunner(ctx: ModeContext): Runner {
  ip('-n', ctx.node, 'link', 'add', BRIDGE, 'type', 'bridge');
  ip('-n', ctx.node, 'addr', 'add', `${GATEWAY}/16`, 'dev', BRIDGE);
  ip('-n', ctx.node, 'link', 'set', BRIDGE, 'up');
  const rules = join(ctx.sandbox.dir, `floor-${ctx.network}.nft`);
  writeFileSync(
    rules,
    `table inet fcni_floor {\n set masq { type ipv4_addr; }\n chain postrouting { type nat hook postrouting priority 100; ip saddr @masq ip daddr != ${SUBNET} masquerade; }\n}\n`,
  );
  inNs(ctx.node, 'nft', '-f', rules);
  const helpers = Array.from({ length: ctx.workers }, () => Helper.start(ctx.sandbox, HELPER_BIN, ctx.node));
  return {
    async op(pod, cmd, worker) {
      const n = pod.index + 2;
      const r = await helpers[worker]!.request({
        op: cmd === 'ADD' ? 'add' : 'del',
        netns: pod.path,
        ifname: 'eth0',
        host: `vb${pod.index.toString(16)}`,
        addr: `10.88.${n >> 8}.${n & 255}/16`,
        gw: GATEWAY,
        bridge: BRIDGE,
        table: 'fcni_floor',
        set: 'masq',
        comment: `${pod.id}/eth0`,
      });
      return outcome(r.code, r.us, '', r.stderr);
    },
    async close() {
      await Promise.all(helpers.map((h) => ctx.sandbox.kill(h.child)));
    },
  };
}

interface LibraryPlugin {
  invoke(inv: {
    env: Record<string, string>;
    stdin: string;
    hostNetns?: string;
    loadPlugin?: unknown;
  }): Promise<{ exitCode: number; stdout: string; stderr: string }>;
}

type Library = Record<ChainPlugin, LibraryPlugin> & {
  phaseTotals(reset?: boolean): PhaseTotal[];
  nativePhases(reset?: boolean): PhaseTotal[];
  loadPlugin: unknown;
};

async function inprocRunner(ctx: ModeContext): Promise<Runner> {
  const lib = (await import(LIBRARY)) as Library;
  const conf = networkConfig('inproc', ctx.network, ctx.dataDir);
  const hostNetns = `/var/run/netns/${ctx.node}`;
  const phases = async () => [...lib.phaseTotals(true), ...lib.nativePhases(true)].filter((p) => p.count > 0);
  await phases(); // what earlier runs in this process left
  const invoke = async (plugin: ChainPlugin, cmd: 'ADD' | 'DEL', pod: Pod, stdin: string) => {
    const t = performance.now();
    // the library's plugin table, so that host-local runs in this process too
    const r = await lib[plugin].invoke({ env: cniEnv(cmd, pod, OUR_BIN), stdin, hostNetns, loadPlugin: lib.loadPlugin });
    return { code: r.exitCode, us: (performance.now() - t) * 1000, stdout: r.stdout, stderr: r.stderr };
  };
  return {
    phases,
    op: ctx.chain
      ? chainRunner('inproc', ctx, invoke)
      : async (pod, cmd) => {
          const r = await invoke('bridge', cmd, pod, conf);
          return outcome(r.code, r.us, r.stdout, r.stderr);
        },
    async close() {},
  };
}

export async function prepare(mode: ModeId, ctx: ModeContext): Promise<Runner> {
  switch (mode) {
    case 'debian':
      return execRunner(ctx, mode, DEBIAN_BIN);
    case 'ref-nft':
      return execRunner(ctx, mode, REF_BIN);
    case 'noagent':
      // A socket path that does not exist: the launcher must fall back to Node.
      return execRunner(ctx, mode, OUR_BIN, { FASTCNI_SOCKET: join(ctx.sandbox.dir, 'no-agent', 'agent.sock') });
    case 'agent': {
      const agent = await startAgent(ctx);
      const runner = execRunner(ctx, mode, OUR_BIN, { FASTCNI_SOCKET: agent.socket }, agent.stop);
      const { agentStatus } = (await import(AGENT_STATUS)) as { agentStatus(socket: string): Promise<{ phases?: PhaseTotal[] }> };
      // The agent's totals only grow: a call reports the difference from the previous one.
      let last = new Map<string, PhaseTotal>();
      const phases = async () => {
        const now = (await agentStatus(agent.socket)).phases ?? [];
        const delta = now
          .map((p) => ({
            name: p.name,
            totalMs: p.totalMs - (last.get(p.name)?.totalMs ?? 0),
            count: p.count - (last.get(p.name)?.count ?? 0),
          }))
          .filter((p) => p.count > 0);
        last = new Map(now.map((p) => [p.name, p]));
        return delta;
      };
      return { ...runner, rssMb: () => vmRssMb(agent.pid), phases };
    }
    case 'inproc':
      return inprocRunner(ctx);
    case 'floor':
      return floorRunner(ctx);
  }
}

/** What is left after DEL of every pod: links, IPAM reservations, nftables elements, iptables chains. */
export function leaks(ctx: ModeContext): string[] {
  const found: string[] = [];
  const veths = JSON.parse(ip('-j', '-n', ctx.node, 'link', 'show', 'type', 'veth') || '[]') as Array<{ ifname: string }>;
  if (veths.length)
    found.push(
      `${veths.length} veth(s) in the node namespace (${veths
        .slice(0, 3)
        .map((l) => l.ifname)
        .join(', ')})`,
    );
  const netDir = join(ctx.dataDir, ctx.network);
  if (existsSync(netDir)) {
    // lock, last_reserved_ip.* and dot-files (our store's index) are not reservations
    const files = readdirSync(netDir).filter((f) => f !== 'lock' && !f.startsWith('last_reserved_ip') && !f.startsWith('.'));
    if (files.length) found.push(`${files.length} IPAM reservation(s) (${files.slice(0, 3).join(', ')})`);
  }
  const ruleset = JSON.parse(inNs(ctx.node, 'nft', '-j', 'list', 'ruleset') || '{"nftables":[]}') as {
    nftables: Array<{ set?: { name: string; elem?: unknown[] } }>;
  };
  const elems = ruleset.nftables.reduce((n, o) => n + (o.set?.elem?.length ?? 0), 0);
  if (elems) found.push(`${elems} nftables set element(s)`);
  if (existsSync('/usr/sbin/iptables-save')) {
    const nat = inNs(ctx.node, 'iptables-save', '-t', 'nat');
    // the reference portmap's CNI-HOSTPORT-* chains and their jumps are made once per node and never removed
    const chains = nat
      .split('\n')
      .filter((l) => !l.includes('CNI-HOSTPORT-'))
      .filter((l) => /^:CNI-/.test(l) || /^-A POSTROUTING .*CNI-/.test(l));
    if (chains.length) found.push(`${chains.length} iptables CNI chain(s)/rule(s)`);
  }
  return found;
}
