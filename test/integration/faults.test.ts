// Fault injection at every step of ADD and DEL (src/faults.ts): for each network below, a traced
// ADD and DEL find the fault points its plugins pass; then for each point, with the process serving
// the request SIGKILLed there — the agent (launcher + agent) or the plugin process the launcher
// falls back to — the operation fails, libcni's DEL and GC (cnitool) leave the node, the pod and the
// state directories exactly as before the ADD, and a new ADD of the same container works and its
// DEL again leaves nothing. On the agent path every point of every network is killed; in the
// fallback (where each case starts Node for every plugin of the chain) under CI a fixed sample:
// every fourth point, at the first network that passes it. FCNI_FAULTS_FULL=1 kills every point
// of every network on both paths.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cnitool, cnitoolSandbox, haveCnitool, type CnitoolSandbox } from '../helpers/cli.js';
import { tempDir } from '../helpers/fixtures.js';
import { allFaultPoints, cnitoolInRuntime, faultyAgent, runtimeMounts, snapshot, tracedPoints } from '../helpers/faults.js';
import { nodeDevice } from '../helpers/host-device.js';
import { ip, makeNetns, type Netns } from '../helpers/netns.js';
import { SUBNET_ENV_V4, writeSubnetEnv } from '../helpers/flannel.js';
import type { AgentProcess } from '../helpers/agent.js';
import type { PluginRun } from '../helpers/run-plugin.js';

const FULL = process.env.FCNI_FAULTS_FULL === '1';
const NET = 'faultnet';

interface Network {
  /** plugins of the conflist, given the test's state directory */
  plugins(dir: string): Array<Record<string, unknown>>;
  /** CAP_ARGS for cnitool */
  capArgs?: Record<string, unknown>;
  /** set up the node before the first ADD (a master or device); `dir` is the state directory */
  prepare?(node: Netns, dir: string): void;
  /**
   * cnitool runs in one mount namespace for the whole test, as a runtime does, rather than a fresh
   * one per call: what a plugin pins in its mount namespace (host-device) then outlives the call.
   */
  runtimeMounts?: boolean;
}

const hostLocal = (dir: string, subnet: string) => ({
  type: 'host-local',
  subnet,
  dataDir: join(dir, 'ipam'),
  routes: [{ dst: '0.0.0.0/0' }],
});
const staticIpam = { type: 'static', addresses: [{ address: '10.78.0.5/24' }] };

const NETWORKS: Record<string, Network> = {
  'bridge, host-local, portmap, firewall, bandwidth, tuning': {
    plugins: (dir) => [
      { type: 'bridge', bridge: 'fcfault0', isGateway: true, ipMasq: true, macspoofchk: true, ipam: hostLocal(dir, '10.79.0.0/24') },
      { type: 'portmap', capabilities: { portMappings: true } },
      { type: 'firewall' },
      { type: 'bandwidth', capabilities: { bandwidth: true } },
      { type: 'tuning', mtu: 1400, dataDir: join(dir, 'tuning'), sysctl: { 'net.ipv4.conf.eth0.arp_notify': '1' } },
    ],
    capArgs: {
      portMappings: [{ hostPort: 18080, containerPort: 80, protocol: 'tcp' }],
      bandwidth: { ingressRate: 8_000_000, ingressBurst: 800_000, egressRate: 4_000_000, egressBurst: 800_000 },
    },
  },
  'ptp, host-local, sbr': {
    plugins: (dir) => [{ type: 'ptp', ipMasq: true, ipam: hostLocal(dir, '10.80.0.0/24') }, { type: 'sbr' }],
  },
  'macvlan, static': {
    prepare: (node) => ip('-n', node.name, 'link', 'add', 'mvmaster', 'type', 'veth', 'peer', 'name', 'mvpeer'),
    plugins: () => [{ type: 'macvlan', master: 'mvmaster', ipam: staticIpam }],
  },
  'host-device, static': {
    prepare: (node) => void nodeDevice(node),
    runtimeMounts: true,
    plugins: (dir) => [{ type: 'host-device', device: 'hd0', dataDir: join(dir, 'host-device'), ipam: staticIpam }],
  },
  'tap, host-local': {
    plugins: (dir) => [{ type: 'tap', ipam: hostLocal(dir, '10.81.0.0/24') }],
  },
  loopback: {
    plugins: () => [{ type: 'loopback' }],
  },
  'flannel (bridge, host-local)': {
    prepare: (_node, dir) => void writeSubnetEnv(dir, SUBNET_ENV_V4),
    plugins: (dir) => [
      { type: 'flannel', subnetFile: join(dir, 'subnet.env'), dataDir: join(dir, 'flannel'), ipam: { dataDir: join(dir, 'ipam') } },
    ],
  },
};

/** Points already sampled in the fallback in this run (CI samples each once). */
const killed = new Set<string>();
/** Points every network's traced ADD and DEL passed. */
const reached = new Set<string>();

type Path = 'agent' | 'fallback';
/** A request killed at a point. */
type Kill = { cmd: 'add' | 'del'; point: string };

/** One network's node, pod, state and runtime, on one path. */
class Attachment {
  agent?: AgentProcess;
  /** the runtime mount namespace's holder, when the network wants one */
  holder?: number;
  readonly node = makeNetns('fnode');
  readonly pod = makeNetns('fpod');
  readonly dir = tempDir('faults');
  readonly s: CnitoolSandbox = cnitoolSandbox();
  readonly socketPath: string;

  constructor(
    readonly net: Network,
    readonly path: Path,
  ) {
    this.socketPath = join(tempDir('fault-agent'), 'agent.sock');
    mkdirSync(join(this.dir, 'ipam'), { recursive: true });
    net.prepare?.(this.node, this.dir);
    writeFileSync(
      join(this.s.confDir, `${NET}.conflist`),
      JSON.stringify({ cniVersion: '1.1.0', name: NET, plugins: net.plugins(this.dir) }),
    );
  }

  /** Everything an attachment can leave behind. */
  state(): string[] {
    return snapshot({ node: this.node, pod: this.pod, dirs: [this.dir, this.s.cacheDir] });
  }

  /** The agent, started (again) when the path has one and it is not running. */
  async up(): Promise<void> {
    if (this.path !== 'agent' || (this.agent && this.agent.proc.exitCode === null && this.agent.proc.signalCode === null)) return;
    this.agent = await faultyAgent(this.socketPath);
  }

  /** cnitool `cmd`; `fault` arms a point, `trace` records the points passed. */
  async run(cmd: 'add' | 'del' | 'gc', o: { fault?: string; trace?: string } = {}): Promise<PluginRun> {
    await this.up();
    const env: Record<string, string> = { FASTCNI_SOCKET: this.socketPath };
    if (this.path === 'fallback') env.FASTCNI_FAULT_INJECTION = '1';
    if (this.net.capArgs) env.CAP_ARGS = JSON.stringify(this.net.capArgs);
    if (o.fault) env.FASTCNI_FAULT = o.fault;
    if (o.trace) env.FASTCNI_FAULT_TRACE = o.trace;
    if (this.net.runtimeMounts) {
      this.holder ??= await runtimeMounts(this.s.varLib);
      return cnitoolInRuntime(this.s, { node: this.node, holder: this.holder, args: [cmd, NET, this.pod.path], env });
    }
    return cnitool(this.s, this.node, [cmd, NET, this.pod.path], { env });
  }

  /** The command succeeded. */
  async ok(cmd: 'add' | 'del' | 'gc', o: { trace?: string } = {}): Promise<void> {
    const r = await this.run(cmd, o);
    expect(r.code, `${cmd}: ${r.stdout}${r.stderr}`).toBe(0);
  }

  /** The command, armed with `point`, failed because the serving process was killed there. */
  async killedAt(cmd: 'add' | 'del', point: string): Promise<void> {
    const r = await this.run(cmd, { fault: point });
    const out = `${r.stdout}${r.stderr}`;
    expect(r.code, `${cmd} with ${point} armed: ${out}`).not.toBe(0);
    if (this.path === 'agent') {
      // the agent died mid-request: the launcher does not run the request again in Node (it may
      // have been acted on) but answers "try again later" at once
      expect(out).toContain('fastcni agent connection lost before it answered');
      const agent = this.agent!;
      if (agent.proc.signalCode === null) await new Promise((r) => agent.proc.once('exit', r));
      expect(agent.proc.signalCode).toBe('SIGKILL');
    } else {
      expect(out).toContain('signal: killed');
    }
  }
}

/** The points to kill on `path` out of those a network passes, in CI or in full. */
function chosen(points: string[], path: Path): string[] {
  if (FULL || path === 'agent') return points;
  const fresh = points.filter((p) => !killed.has(p));
  for (const p of fresh) killed.add(p);
  return fresh.filter((_, i) => i % 4 === 0);
}

describe.skipIf(!haveCnitool)('a SIGKILL at every fault point of ADD and DEL', () => {
  for (const [label, net] of Object.entries(NETWORKS)) {
    for (const path of ['agent', 'fallback'] as const) {
      it(`${label}, ${path === 'agent' ? 'launcher + agent' : 'launcher falling back to Node'}`, { timeout: 900_000 }, async () => {
        const a = new Attachment(net, path);
        const before = a.state();
        // traced: which points this network's ADD and DEL pass
        const traces = tempDir('fault-trace');
        await a.ok('add', { trace: join(traces, 'add') });
        await a.ok('del', { trace: join(traces, 'del') });
        await a.ok('gc');
        const addPoints = tracedPoints(join(traces, 'add'));
        const delPoints = tracedPoints(join(traces, 'del'));

        expect(addPoints).toContain(`${net.plugins(a.dir)[0]!.type}.ADD`);
        expect(delPoints).toContain(`${net.plugins(a.dir)[0]!.type}.DEL`);
        for (const p of [...addPoints, ...delPoints]) reached.add(p);
        // a clean cycle leaves what was there (objects made once per node, such as the bridge or an
        // empty nftables table, stay: they are the state every later case starts from)
        const clean = a.state();
        expect(
          clean.filter(
            (l) =>
              !before.includes(l) &&
              !/^node link fcfault0|^node (addr|route) .*fcfault0|^nft |^qdisc fcfault0|^node link cni0|^node (addr|route) .*cni0|^qdisc cni0/.test(
                l,
              ),
          ),
        ).toEqual([]);

        // each case: the kills in order (a DEL first needs an ADD), then the runtime's DEL and GC
        const known = new Set([...addPoints.map((p) => `add ${p}`), ...delPoints.map((p) => `del ${p}`)]);
        const cases: Kill[][] = [
          ...chosen(addPoints, path).map((point) => [{ cmd: 'add' as const, point }]),
          ...chosen(delPoints, path).map((point) => [{ cmd: 'del' as const, point }]),
        ];
        expect(cases.length).toBeGreaterThan(0);
        for (let i = 0; i < cases.length; i++) {
          const kills = cases[i]!;
          const what = kills.map((k) => `${k.cmd.toUpperCase()} killed at ${k.point}`).join(', then ');
          if (kills[0]!.cmd === 'del') await a.ok('add');

          for (const k of kills) await a.killedAt(k.cmd, k.point);
          const retry = join(traces, `retry-${i}`);
          await a.ok('del', { trace: retry });
          await a.ok('gc');
          expect(a.state(), `${what}, then DEL and GC`).toEqual(clean);
          await a.ok('add');
          await a.ok('del');
          expect(a.state(), `ADD and DEL after ${what}`).toEqual(clean);
          // The DEL after an interrupted ADD or DEL can pass points a whole DEL does not (the link
          // already gone, say): each is killed there too, after the same kills.
          const fresh = tracedPoints(retry).filter((p) => !known.has(`del ${p}`));
          for (const p of fresh) {
            known.add(`del ${p}`);
            reached.add(p);
          }
          for (const point of chosen(fresh, path)) cases.push([...kills, { cmd: 'del', point }]);
        }
      });
    }
  }

  it('every registered fault point is passed by the ADD or DEL of some network above, or named here as outside them', () => {
    // Points of plugins and commands outside this test: they are steps of CHECK, GC, STATUS, the
    // CLI's own namespace commands, foreign delegates, or of plugins whose kernel module may be
    // missing (dummy, ipvlan, vlan, vrf) or that need a DHCP server (dhcp).
    const outside = new Set([
      ...['dhcp', 'dummy', 'ipvlan', 'vlan', 'vrf'].flatMap((t) => [`${t}.ADD`, `${t}.DEL`]),
      'host-local.DEL', // bridge, ptp and tap delegate host-local's DEL in-process: `ipam.DEL` marks its end
      'static.DEL',
      // library calls (fastcni/native) no plugin makes, and a lock wait only contention reaches
      'native.masqAdd',
      'native.spoofCheckAdd',
      'native.sysctlSet',
      'native.lockAcquire',
      // host-device's recovery on its own: a GC finding a killed move's pin, or a DEL without the
      // pod's namespace (the DELs here recover inside hostDeviceDel)
      'native.hostDeviceRecover',
      ...[
        'addrList',
        'bandwidthInspect',
        'dhcpExchange',
        'dummyAdd',
        'execIn',
        'firewallGc',
        'firewallInspect',
        'linkList',
        'masqGc',
        'masqList',
        'netnsCreate',
        'netnsDelete',
        'overlaySync',
        'overlayTeardown',
        'podInspect',
        'portmapCheck',
        'portmapGc',
        'portmapList',
        'referenceGc',
        'referencePrepare',
        'routeList',
        'sbrInspect',
        'spoofCheckGc',
        'spoofCheckList',
        'sublinkInspect',
        'sysctlGet',
        'tuningInspect',
        'vrfAdd',
        'vrfDel',
      ].map((c) => `native.${c}`),
    ]);
    const registry = allFaultPoints();
    expect(
      [...reached].filter((p) => !registry.includes(p)),
      'points passed but not registered',
    ).toEqual([]);
    expect(
      registry.filter((p) => !reached.has(p) && !outside.has(p)),
      'registered points no network above passes',
    ).toEqual([]);
  });
});
