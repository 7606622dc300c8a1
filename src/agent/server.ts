// The agent's socket server: one framed request per connection, served concurrently, and only for
// root callers. Each request runs where its caller runs: its host side is the caller's network
// namespace, and its paths are the caller's files, from the descriptors the launcher sent with it.
// A native thread accepts and reads each request (src/native.ts agentListen); here it is decoded,
// checked and answered.
import { chmodSync, lstatSync, mkdirSync, type Stats, statSync, unlinkSync } from 'node:fs';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { connect } from 'node:net';
import { dirname } from 'node:path';
import { performance } from 'node:perf_hooks';
import { loadPlugin, pluginTypes } from '../plugins.js';
import { ReadEnd, agentListen, type AgentListener, type AgentRequest } from '../native.js';
import { recordPhase } from '../phases.js';
import type { InvocationOutput, PluginLoader } from '../skel/types.js';
import { CallerPaths, type PathView } from '../skel/caller-paths.js';
import { loadClusterConfig } from '../cluster/config.js';
import type { ClusterConfig, ClusterController, OverlayBackend } from '../cluster/index.js';
import { jsonLogger, type Logger } from './log.js';
import { Metrics, prometheusText, type AgentStatus } from './metrics.js';
import {
  DEFAULT_MAX_FRAME,
  FrameError,
  HEADER_SIZE,
  MAGIC,
  decodeRequest,
  encodeRefused,
  encodeResult,
  encodeStatusReply,
  parseHeader,
  type InvokeRequest,
  type Request as AgentFrameRequest,
} from './protocol.js';

/** Where the launcher looks for the agent unless told otherwise. */
export const DEFAULT_SOCKET = '/run/fastcni/agent.sock';

export interface AgentOptions {
  /** unix socket path (default /run/fastcni/agent.sock); its directory is created with mode 0700 */
  socketPath?: string;
  /** request payload limit in bytes (default 1 MiB) */
  maxFrameBytes?: number;
  /** peers allowed by uid (default [0]: root only) */
  allowedUids?: readonly number[];
  /** a request not fully received within this long is dropped (default 10 s) */
  readTimeoutMs?: number;
  /** serve Prometheus text on 127.0.0.1:<port>/metrics; 0 = any free port; undefined = off */
  metricsPort?: number;
  /** default: JSON lines on stderr at level info */
  logger?: Logger;
  /** plugin lookup, handed down to the plugins for their delegates too (default: ours, src/plugins.ts) */
  loadPlugin?: PluginLoader;
  /**
   * Run the cluster controller (docs/ARCHITECTURE.md "Across nodes"): a cluster file's path, or its
   * validated form (src/cluster parseClusterConfig). It starts and stops with the agent.
   */
  cluster?: string | ClusterConfig;
  /** the cluster controller's overlay backend (default: the native one) */
  clusterBackend?: OverlayBackend;
}

/** A running agent. */
export interface Agent {
  readonly socketPath: string;
  /** the bound metrics port, when the endpoint is on */
  readonly metricsPort?: number;
  status(): AgentStatus;
  /** Stop accepting (the socket file goes away, launchers fall back), finish in-flight requests. */
  close(): Promise<void>;
}

/** Make the socket's directory (0700 when we create it) and clear a stale socket nobody answers on. */
async function prepareSocketPath(socketPath: string, log: Logger): Promise<void> {
  const dir = dirname(socketPath);
  const created = mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (created !== undefined) chmodSync(dir, 0o700);
  else if ((statSync(dir).mode & 0o077) !== 0) log.warn('socket directory is accessible to others; the socket itself is 0600', { dir });
  let st: Stats;
  try {
    st = lstatSync(socketPath);
  } catch {
    return;
  }
  if (!st.isSocket()) throw new Error(`${socketPath} exists and is not a socket; not removing it`);
  const answers = await new Promise<boolean>((resolve) => {
    const c = connect(socketPath);
    c.once('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.once('error', () => resolve(false));
  });
  if (answers) throw new Error(`another agent already answers on ${socketPath}`);
  log.info('removing stale socket', { socket: socketPath });
  unlinkSync(socketPath);
}

/** Bind with mode 0600 from the first instant (umask), then make sure of it. */
function listen(socketPath: string, maxFrame: number, readTimeoutMs: number): AgentListener {
  const old = process.umask(0o177);
  try {
    const listener = agentListen(socketPath, maxFrame, readTimeoutMs);
    chmodSync(socketPath, 0o600);
    return listener;
  } finally {
    process.umask(old);
  }
}

/** The request frame in what the listener read, or the reason it is not one (FrameError). */
function frameOf(req: AgentRequest, maxPayload: number, timeoutMs: number): { kind: number; payload: Buffer } {
  const b = req.bytes;
  const n = Math.min(4, b.length);
  if (b.compare(MAGIC, 0, n, 0, n) !== 0) throw new FrameError('bad magic: not a fastcni frame');
  const h = b.length >= HEADER_SIZE ? parseHeader(b.subarray(0, HEADER_SIZE), maxPayload) : undefined;
  switch (req.end) {
    case ReadEnd.Complete:
      return { kind: h!.kind, payload: b.subarray(HEADER_SIZE) };
    case ReadEnd.Extra:
      throw new FrameError('bytes after the request frame');
    case ReadEnd.Timeout:
      throw new FrameError(`request not complete after ${timeoutMs} ms`);
    case ReadEnd.Eof:
      throw new FrameError(`connection closed after ${b.length} bytes of an incomplete frame`);
    default:
      throw new FrameError('the request could not be read');
  }
}

function fdPath(fd: number): string {
  return `/proc/self/fd/${fd}`;
}

/** Where the caller of `r` sees its files, or why its descriptors do not say. */
function callerPaths(r: AgentRequest): PathView | string {
  if (r.callerError != null || r.cwdFd == null) return r.callerError ?? 'no working directory among the descriptors';
  const elsewhere = r.rootFd != null && r.mntnsFd != null ? { root: fdPath(r.rootFd), mountNs: fdPath(r.mntnsFd) } : {};
  return new CallerPaths({ cwd: fdPath(r.cwdFd), ...elsewhere });
}

/** Start the agent; resolves once it listens. */
export async function startAgent(options: AgentOptions = {}): Promise<Agent> {
  const socketPath = options.socketPath ?? DEFAULT_SOCKET;
  const maxFrame = options.maxFrameBytes ?? DEFAULT_MAX_FRAME;
  const allowed = options.allowedUids ?? [0];
  const readTimeoutMs = options.readTimeoutMs ?? 10_000;
  const log = options.logger ?? jsonLogger();
  const load = options.loadPlugin ?? loadPlugin;
  const metrics = new Metrics();
  // a bad cluster file stops the agent before it listens
  const clusterConfig = typeof options.cluster === 'string' ? await loadClusterConfig(options.cluster) : options.cluster;
  const inFlight = new Set<Promise<void>>();
  let closing = false;

  // Load every plugin (and so the addon) now, not on the first pod.
  if (!options.loadPlugin) await Promise.all(pluginTypes.map((t) => load(t)));

  await prepareSocketPath(socketPath, log);
  const listener = listen(socketPath, maxFrame, readTimeoutMs);
  let cluster: ClusterController | undefined;
  if (clusterConfig) {
    // loaded only here: the etcd client (gRPC and its protobuf definitions) costs a quarter second
    // of start-up that an agent without a cluster, and every CLI command, would pay for nothing
    const { ClusterController } = await import('../cluster/controller.js');
    cluster = new ClusterController(clusterConfig, { log, ...(options.clusterBackend ? { backend: options.clusterBackend } : {}) });
    try {
      await cluster.start();
    } catch (e) {
      listener.stop();
      await cluster.stop();
      throw e;
    }
  }
  const snapshot = (): AgentStatus => ({ ...metrics.snapshot(), ...(cluster ? { cluster: cluster.status() } : {}) });

  const refuse = (id: number, reason: string, fields: Record<string, unknown>): void => {
    metrics.refused++;
    log.warn('request refused', { reason, ...fields });
    listener.reply(id, encodeRefused(reason));
  };

  /**
   * Run the request where its caller runs, from the descriptors the launcher sent, held until the
   * reply (so /proc/self/fd/N keeps naming them even if the caller exits meanwhile): its network
   * namespace is the host side (`r.netnsFd`; absent: the agent's own), and its paths are opened
   * through its root and working directory (`paths`).
   */
  const invoke = async (req: InvokeRequest, r: AgentRequest, paths: PathView): Promise<InvocationOutput> => {
    const plugin = await load(req.plugin);
    // The same answer as the plugin entry gives for a type we do not provide.
    if (!plugin) return { exitCode: 1, stdout: '', stderr: `fastcni: unknown plugin type "${req.plugin}"\n` };
    return plugin.invoke({
      env: req.env,
      stdin: req.stdin,
      hostNetns: r.netnsFd == null ? undefined : fdPath(r.netnsFd),
      paths,
      loadPlugin: load,
    });
  };

  /** One request as the listener read it; `taken`: when JavaScript got it. */
  const serve = async (r: AgentRequest, taken: number): Promise<void> => {
    const { id, pid, uid } = r;
    if (!allowed.includes(uid)) return refuse(id, `peer uid ${uid} is not allowed (root only)`, { pid, uid });
    if (closing) return refuse(id, 'agent is shutting down', { pid });
    let req: AgentFrameRequest;
    try {
      const frame = frameOf(r, maxFrame, readTimeoutMs);
      req = decodeRequest(frame.kind, frame.payload);
    } catch (e) {
      return refuse(id, `malformed request: ${(e as Error).message}`, { pid });
    }
    if (req.kind === 'status') {
      listener.reply(id, encodeStatusReply(snapshot()));
      return;
    }
    // Never run a request anywhere but where its caller runs.
    const paths = callerPaths(r);
    if (typeof paths === 'string') return refuse(id, `malformed request: ${paths}`, { pid });
    const started = performance.now();
    const command = req.invoke.env.CNI_COMMAND ?? '';
    metrics.inFlight++;
    let out: InvocationOutput;
    try {
      out = await invoke(req.invoke, r, paths);
    } catch (e) {
      // plugin.invoke never throws; this is a load error.
      out = { exitCode: 1, stdout: '', stderr: `fastcni agent: ${(e as Error).message}\n` };
    } finally {
      metrics.inFlight--;
    }
    const ms = performance.now() - started;
    metrics.record(req.invoke.plugin, command, ms, out.exitCode);
    if (command === 'STATUS') metrics.recordStatus(req.invoke.plugin, req.invoke.stdin, out);
    if (log.enabled?.('debug') !== false)
      log.debug('request', {
        plugin: req.invoke.plugin,
        command,
        containerId: req.invoke.env.CNI_CONTAINERID,
        pid,
        exitCode: out.exitCode,
        ms: Math.round(ms * 1000) / 1000,
      });
    if (!listener.reply(id, encodeResult(out))) log.warn('caller went away before the answer', { plugin: req.invoke.plugin, command, pid });
    // the agent's share: reading on the native thread, then here until the answer is written
    recordPhase('agent.request', r.readUs / 1000 + performance.now() - taken);
  };

  // Take requests one after another, serve them concurrently.
  const accepting = (async () => {
    for (let r = await listener.next(); r; r = await listener.next()) {
      const p = serve(r, performance.now()).catch((e: Error) => {
        log.error('request failed', { error: e.message });
        // closed unanswered: the launcher reports the lost connection (try again later)
        listener.reply(r.id, Buffer.alloc(0));
      });
      inFlight.add(p);
      void p.finally(() => inFlight.delete(p));
    }
  })().catch((e: Error) => log.error('accepting stopped', { error: e.message }));

  let http: HttpServer | undefined;
  let metricsPort: number | undefined;
  if (options.metricsPort !== undefined) {
    http = createHttpServer((req, res) => {
      if (req.url !== '/metrics') {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(prometheusText(snapshot()));
    });
    await new Promise<void>((resolve, reject) => {
      http!.once('error', reject);
      http!.listen(options.metricsPort, '127.0.0.1', () => resolve());
    });
    metricsPort = (http.address() as { port: number }).port;
  }
  log.info('agent listening', { socket: socketPath, pid: process.pid, metricsPort, maxFrameBytes: maxFrame });

  let closed: Promise<void> | undefined;
  return {
    socketPath,
    metricsPort,
    status: snapshot,
    close() {
      closed ??= (async () => {
        closing = true;
        // stops accepting and removes the socket file; requests already read are refused
        listener.stop();
        await accepting;
        await Promise.allSettled([...inFlight]);
        if (http) await new Promise<void>((resolve) => http!.close(() => resolve()));
        // the lease is revoked; this node's routes and device stay for its pods
        await cluster?.stop();
        log.info('agent stopped', { requests: metrics.requests });
      })();
      return closed;
    },
  };
}
