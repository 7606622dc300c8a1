// The agent's socket server: one framed request per connection, served concurrently; the host side of
// each request is the caller's network namespace (SO_PEERCRED pid), and only root callers are served.
import { chmodSync, closeSync, fstatSync, lstatSync, mkdirSync, openSync, statSync, unlinkSync } from 'node:fs';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { dirname } from 'node:path';
import { performance } from 'node:perf_hooks';
import { loadPlugin, pluginTypes } from '../plugins.js';
import { peerCred } from '../native.js';
import { recordPhase } from '../phases.js';
import type { InvocationOutput, Plugin } from '../skel/types.js';
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
  /** plugin lookup (default: ours, src/plugins.ts) */
  loadPlugin?: (type: string) => Promise<Plugin<unknown> | undefined>;
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
  let st;
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
function listen(server: Server, socketPath: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const old = process.umask(0o177);
    try {
      server.once('error', reject);
      server.listen(socketPath, () => {
        server.off('error', reject);
        chmodSync(socketPath, 0o600);
        resolve();
      });
    } finally {
      process.umask(old);
    }
  });
}

/** Read exactly one request frame; resolves with its header kind and payload, or rejects with FrameError. */
function readFrame(sock: Socket, maxPayload: number, timeoutMs: number): Promise<{ kind: number; payload: Buffer }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let have = 0;
    let want = -1;
    let kind = 0;
    const done = (err?: Error, value?: { kind: number; payload: Buffer }): void => {
      sock.off('data', onData);
      sock.off('end', onEnd);
      sock.off('timeout', onTimeout);
      sock.setTimeout(0);
      sock.pause();
      if (err) reject(err);
      else resolve(value!);
    };
    const onData = (chunk: Buffer): void => {
      chunks.push(chunk);
      have += chunk.length;
      try {
        const all = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
        if (chunks.length > 1) chunks.splice(0, chunks.length, all);
        if (want < 0 && have >= 4 && all.compare(MAGIC, 0, 4, 0, 4) !== 0) throw new FrameError('bad magic: not a fastcni frame');
        if (want < 0 && have >= HEADER_SIZE) {
          const h = parseHeader(all.subarray(0, HEADER_SIZE), maxPayload);
          kind = h.kind;
          want = HEADER_SIZE + h.length;
        }
        if (want >= 0 && have >= want) {
          if (have > want) throw new FrameError('bytes after the request frame');
          done(undefined, { kind, payload: all.subarray(HEADER_SIZE, want) });
        }
      } catch (e) {
        done(e as Error);
      }
    };
    const onEnd = (): void => done(new FrameError(`connection closed after ${have} bytes of an incomplete frame`));
    const onTimeout = (): void => done(new FrameError(`request not complete after ${timeoutMs} ms`));
    sock.on('data', onData);
    sock.once('end', onEnd);
    sock.setTimeout(timeoutMs);
    sock.once('timeout', onTimeout);
  });
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
  const inFlight = new Set<Promise<void>>();
  const ownNetns = statSync('/proc/self/ns/net');
  let closing = false;

  // Load every plugin (and so the addon) now, not on the first pod.
  if (!options.loadPlugin) await Promise.all(pluginTypes.map((t) => load(t)));

  const refuse = (sock: Socket, reason: string, fields: Record<string, unknown>): void => {
    metrics.refused++;
    log.warn('request refused', { reason, ...fields });
    sock.end(encodeRefused(reason));
  };

  /** The caller's namespace: undefined when it is ours (the fast path), else a pinned fd's path. */
  const openHostNetns = (pid: number): { hostNetns?: string; fd?: number } => {
    const fd = openSync(`/proc/${pid}/ns/net`, 'r');
    const st = fstatSync(fd);
    if (st.dev === ownNetns.dev && st.ino === ownNetns.ino) {
      closeSync(fd);
      return {};
    }
    // /proc/self/fd/N keeps naming that namespace even if the caller exits and its pid is reused.
    return { hostNetns: `/proc/self/fd/${fd}`, fd };
  };

  const invoke = async (req: InvokeRequest, pid: number): Promise<InvocationOutput> => {
    const plugin = await load(req.plugin);
    // The same answer as the plugin entry gives for a type we do not provide.
    if (!plugin) return { exitCode: 1, stdout: '', stderr: `fastcni: unknown plugin type "${req.plugin}"\n` };
    const ns = openHostNetns(pid);
    try {
      return await plugin.invoke({ env: req.env, stdin: req.stdin, hostNetns: ns.hostNetns });
    } finally {
      if (ns.fd !== undefined) closeSync(ns.fd);
    }
  };

  /** `accepted`: when the connection came in (the agent's share of a request is timed from there). */
  const serve = async (sock: Socket, accepted: number): Promise<void> => {
    sock.on('error', (e) => {
      if (log.enabled?.('debug') !== false) log.debug('connection error', { error: e.message });
    });
    // _handle.fd: Node exposes no SO_PEERCRED; the fd of an accepted unix socket is there.
    const fd = (sock as unknown as { _handle?: { fd?: number } })._handle?.fd ?? -1;
    let cred;
    try {
      cred = peerCred(fd);
    } catch (e) {
      return refuse(sock, 'cannot read peer credentials', { error: (e as Error).message });
    }
    if (!allowed.includes(cred.uid)) return refuse(sock, `peer uid ${cred.uid} is not allowed (root only)`, { pid: cred.pid, uid: cred.uid });
    if (closing) return refuse(sock, 'agent is shutting down', { pid: cred.pid });
    let frame;
    try {
      frame = await readFrame(sock, maxFrame, readTimeoutMs);
    } catch (e) {
      return refuse(sock, `malformed request: ${(e as Error).message}`, { pid: cred.pid });
    }
    let req;
    try {
      req = decodeRequest(frame.kind, frame.payload);
    } catch (e) {
      return refuse(sock, `malformed request: ${(e as Error).message}`, { pid: cred.pid });
    }
    if (req.kind === 'status') {
      sock.end(encodeStatusReply(metrics.snapshot()));
      return;
    }
    const started = performance.now();
    const command = req.invoke.env.CNI_COMMAND ?? '';
    metrics.inFlight++;
    let out: InvocationOutput;
    try {
      out = await invoke(req.invoke, cred.pid);
    } catch (e) {
      // plugin.invoke never throws; this is the namespace open failing (caller already gone) or a load error.
      out = { exitCode: 1, stdout: '', stderr: `fastcni agent: ${(e as Error).message}\n` };
    } finally {
      metrics.inFlight--;
    }
    const ms = performance.now() - started;
    metrics.record(req.invoke.plugin, command, ms, out.exitCode);
    if (log.enabled?.('debug') !== false) log.debug('request', {
      plugin: req.invoke.plugin,
      command,
      containerId: req.invoke.env.CNI_CONTAINERID,
      pid: cred.pid,
      exitCode: out.exitCode,
      ms: Math.round(ms * 1000) / 1000,
    });
    if (sock.destroyed) log.warn('caller went away before the answer', { plugin: req.invoke.plugin, command, pid: cred.pid });
    else sock.end(encodeResult(out));
    recordPhase('agent.request', performance.now() - accepted);
  };

  await prepareSocketPath(socketPath, log);
  const server = createServer({ allowHalfOpen: true }, (sock) => {
    const p = serve(sock, performance.now()).catch((e: Error) => {
      log.error('connection failed', { error: e.message });
      sock.destroy();
    });
    inFlight.add(p);
    void p.finally(() => inFlight.delete(p));
  });
  server.on('error', (e) => log.error('server error', { error: e.message }));
  await listen(server, socketPath);

  let http: HttpServer | undefined;
  let metricsPort: number | undefined;
  if (options.metricsPort !== undefined) {
    http = createHttpServer((req, res) => {
      if (req.url !== '/metrics') {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(prometheusText(metrics.snapshot()));
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
    status: () => metrics.snapshot(),
    close() {
      closed ??= (async () => {
        closing = true;
        // server.close stops accepting and removes the socket file (libuv unlinks a pipe's path on close).
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        await Promise.allSettled([...inFlight]);
        await stopped;
        if (http) await new Promise<void>((resolve) => http!.close(() => resolve()));
        log.info('agent stopped', { requests: metrics.requests });
      })();
      return closed;
    },
  };
}
