// Counters and latency percentiles of the agent, per plugin and command, the per-phase time of the
// plugin calls it served (src/phases.ts), each network's last STATUS answer, plus the Prometheus
// text form.
import { phaseTotals, type PhaseTotal } from '../phases.js';
import { nativePhases } from '../native.js';
import type { ClusterStatus } from '../cluster/index.js';

/** Latency of one plugin/command pair. */
export interface LatencyStats {
  count: number;
  errors: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
}

/**
 * A network's health as the last STATUS request for it that the agent served answered. libcni asks
 * a list's plugins in order and stops at the first error, so the last answer of a complete check is
 * its outcome: the failing plugin's error, or the last plugin's success.
 */
export interface NetworkHealth {
  ready: boolean;
  /** the CNI error code when not ready */
  code?: number;
  /** the error's message when not ready */
  msg?: string;
  /** the plugin that answered */
  plugin: string;
  /** when, in milliseconds since the epoch */
  checkedAt: number;
}

/** What `fastcni agent status` shows. */
export interface AgentStatus {
  pid: number;
  uptimeSeconds: number;
  /** requests answered with a plugin result */
  requests: number;
  /** results with a non-zero exit code */
  errors: number;
  /** connections refused: non-root peer, oversized or malformed frame, shutting down */
  refused: number;
  inFlight: number;
  rssBytes: number;
  /** keyed "plugin COMMAND", e.g. "bridge ADD"; percentiles over the last SAMPLE_WINDOW requests */
  latency: Record<string, LatencyStats>;
  /** summed time per phase since the agent started: plugin commands, IPAM, native calls and their phases */
  phases: PhaseTotal[];
  /** by network name: the last STATUS answer served for it */
  networks: Record<string, NetworkHealth>;
  /** the cluster controller's state, when the agent runs one (`--cluster`) */
  cluster?: ClusterStatus;
}

/** Networks whose health is kept; the one checked longest ago goes first, so memory stays bounded. */
export const MAX_NETWORKS = 256;

/** Percentiles come from this many most recent samples per key. */
export const SAMPLE_WINDOW = 2048;

class Series {
  samples = new Float64Array(SAMPLE_WINDOW);
  next = 0;
  count = 0;
  errors = 0;

  add(ms: number, failed: boolean): void {
    this.samples[this.next] = ms;
    this.next = (this.next + 1) % SAMPLE_WINDOW;
    this.count++;
    if (failed) this.errors++;
  }

  stats(): LatencyStats {
    const n = Math.min(this.count, SAMPLE_WINDOW);
    const sorted = Array.from(this.samples.subarray(0, n)).sort((a, b) => a - b);
    const q = (p: number): number => (n === 0 ? 0 : round(sorted[Math.min(n - 1, Math.ceil(p * n) - 1)]!));
    return { count: this.count, errors: this.errors, p50Ms: q(0.5), p95Ms: q(0.95), p99Ms: q(0.99) };
  }
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

/** Mutable metrics of one agent. */
export class Metrics {
  readonly started = Date.now();
  requests = 0;
  errors = 0;
  refused = 0;
  inFlight = 0;
  private readonly series = new Map<string, Series>();
  /** in order of the last check, oldest first */
  private readonly networks = new Map<string, NetworkHealth>();

  /** Record one answered request. */
  record(plugin: string, command: string, ms: number, exitCode: number): void {
    this.requests++;
    if (exitCode !== 0) this.errors++;
    const key = `${plugin} ${command || '-'}`;
    let s = this.series.get(key);
    if (!s) this.series.set(key, (s = new Series()));
    s.add(ms, exitCode !== 0);
  }

  /**
   * Record a served STATUS request: the network named in its config, and its answer (a zero exit,
   * or the error object printed). A config without a name is not recorded.
   */
  recordStatus(plugin: string, stdin: Buffer, out: { exitCode: number; stdout: string }): void {
    let network: unknown;
    try {
      network = (JSON.parse(stdin.toString('utf8')) as { name?: unknown }).name;
    } catch {
      return;
    }
    if (typeof network !== 'string' || network === '') return;
    const health: NetworkHealth = { ready: out.exitCode === 0, plugin, checkedAt: Date.now() };
    if (!health.ready) {
      let e: { code?: unknown; msg?: unknown } = {};
      try {
        e = JSON.parse(out.stdout) as typeof e;
      } catch {
        // no error object: the code stays unknown (999), as libcni reads such an answer
      }
      health.code = typeof e?.code === 'number' ? e.code : 999;
      health.msg = typeof e?.msg === 'string' ? e.msg : out.stdout.trim();
    }
    this.networks.delete(network);
    this.networks.set(network, health);
    if (this.networks.size > MAX_NETWORKS) this.networks.delete(this.networks.keys().next().value!);
  }

  snapshot(): AgentStatus {
    const latency: Record<string, LatencyStats> = {};
    for (const [k, s] of [...this.series].sort(([a], [b]) => a.localeCompare(b))) latency[k] = s.stats();
    return {
      pid: process.pid,
      uptimeSeconds: Math.round((Date.now() - this.started) / 100) / 10,
      requests: this.requests,
      errors: this.errors,
      refused: this.refused,
      inFlight: this.inFlight,
      rssBytes: process.memoryUsage.rss(),
      latency,
      phases: [...phaseTotals(), ...nativePhases()].filter((p) => p.count > 0),
      networks: Object.fromEntries([...this.networks].sort(([a], [b]) => a.localeCompare(b))),
    };
  }
}

function label(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** The status in Prometheus text exposition format. */
export function prometheusText(s: AgentStatus): string {
  const lines = [
    '# HELP fastcni_agent_uptime_seconds Seconds since the agent started.',
    '# TYPE fastcni_agent_uptime_seconds gauge',
    `fastcni_agent_uptime_seconds ${s.uptimeSeconds}`,
    '# HELP fastcni_agent_requests_total Requests answered with a plugin result.',
    '# TYPE fastcni_agent_requests_total counter',
    `fastcni_agent_requests_total ${s.requests}`,
    '# HELP fastcni_agent_errors_total Plugin results with a non-zero exit code.',
    '# TYPE fastcni_agent_errors_total counter',
    `fastcni_agent_errors_total ${s.errors}`,
    '# HELP fastcni_agent_refused_total Connections refused (peer, size, malformed, shutdown).',
    '# TYPE fastcni_agent_refused_total counter',
    `fastcni_agent_refused_total ${s.refused}`,
    '# HELP fastcni_agent_in_flight Requests being served now.',
    '# TYPE fastcni_agent_in_flight gauge',
    `fastcni_agent_in_flight ${s.inFlight}`,
    '# HELP fastcni_agent_rss_bytes Resident set size.',
    '# TYPE fastcni_agent_rss_bytes gauge',
    `fastcni_agent_rss_bytes ${s.rssBytes}`,
    '# HELP fastcni_agent_request_seconds Request latency quantiles over recent requests.',
    '# TYPE fastcni_agent_request_seconds summary',
  ];
  for (const [key, l] of Object.entries(s.latency)) {
    const [plugin = '', command = ''] = key.split(' ');
    const base = `plugin="${label(plugin)}",command="${label(command)}"`;
    for (const [q, v] of [
      ['0.5', l.p50Ms],
      ['0.95', l.p95Ms],
      ['0.99', l.p99Ms],
    ] as const) {
      lines.push(`fastcni_agent_request_seconds{${base},quantile="${q}"} ${v / 1000}`);
    }
    lines.push(`fastcni_agent_request_seconds_count{${base}} ${l.count}`);
    lines.push(`fastcni_agent_request_errors_total{${base}} ${l.errors}`);
  }
  lines.push(
    '# HELP fastcni_agent_phase_seconds_total Time spent per phase of the plugin calls served (plugin command, IPAM, native call, native step).',
    '# TYPE fastcni_agent_phase_seconds_total counter',
  );
  for (const p of s.phases) lines.push(`fastcni_agent_phase_seconds_total{phase="${label(p.name)}"} ${p.totalMs / 1000}`);
  lines.push('# HELP fastcni_agent_phase_calls_total Occurrences per phase.', '# TYPE fastcni_agent_phase_calls_total counter');
  for (const p of s.phases) lines.push(`fastcni_agent_phase_calls_total{phase="${label(p.name)}"} ${p.count}`);
  const networks = Object.entries(s.networks);
  lines.push(
    '# HELP fastcni_network_ready Whether the last STATUS of the network the agent served said ready (1) or not (0).',
    '# TYPE fastcni_network_ready gauge',
    ...networks.map(([n, h]) => `fastcni_network_ready{network="${label(n)}"} ${h.ready ? 1 : 0}`),
    '# HELP fastcni_network_status_code CNI error code of the last STATUS of the network (0: ready).',
    '# TYPE fastcni_network_status_code gauge',
    ...networks.map(([n, h]) => `fastcni_network_status_code{network="${label(n)}"} ${h.code ?? 0}`),
    '# HELP fastcni_network_status_checked_seconds When the network last had its STATUS checked (Unix time).',
    '# TYPE fastcni_network_status_checked_seconds gauge',
    ...networks.map(([n, h]) => `fastcni_network_status_checked_seconds{network="${label(n)}"} ${h.checkedAt / 1000}`),
  );
  if (s.cluster) lines.push(...clusterLines(s.cluster));
  return `${lines.join('\n')}\n`;
}

function clusterLines(c: ClusterStatus): string[] {
  const node = `node="${label(c.node)}"`;
  return [
    '# HELP fastcni_cluster_leased Whether this node holds its subnet lease (1) or not (0).',
    '# TYPE fastcni_cluster_leased gauge',
    `fastcni_cluster_leased{${node}} ${c.leased ? 1 : 0}`,
    '# HELP fastcni_cluster_peers Peer nodes in the last overlay sync.',
    '# TYPE fastcni_cluster_peers gauge',
    `fastcni_cluster_peers{${node}} ${c.peers.length}`,
    '# HELP fastcni_cluster_watch_events_total Subnet key changes received on the etcd watch.',
    '# TYPE fastcni_cluster_watch_events_total counter',
    `fastcni_cluster_watch_events_total{${node}} ${c.watchEvents}`,
    '# HELP fastcni_cluster_syncs_total Overlay backend syncs (routes, VXLAN entries) done.',
    '# TYPE fastcni_cluster_syncs_total counter',
    `fastcni_cluster_syncs_total{${node}} ${c.syncs}`,
  ];
}
