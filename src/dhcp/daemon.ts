// `fastcni dhcp-daemon`: holds a DHCP lease per (container, network, interface) for the dhcp
// plugin, acquired inside the pod namespace, renewed at T1, rebound at T2 and released on DEL, as
// the reference daemon does (https://github.com/containernetworking/plugins/blob/main/plugins/ipam/dhcp/lease.go),
// and kept on disk so that a restarted daemon goes on renewing and can still release each lease.
// Each DHCP exchange is one native call (src/native.ts dhcpExchange); the lease's life is here.
import { closeSync, existsSync, mkdirSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { dirname } from 'node:path';
import { CniError, ErrorCode, toCniError } from '../spec/errors.js';
import { DhcpExchange, dhcpExchange, type DhcpLease } from '../native.js';
import { LeaseStore, type StoredLease } from './lease-store.js';
import { leaseTimes, retryAt } from './lease-times.js';
import {
  callDaemon,
  clientId,
  serveConnection,
  type AllocateRequest,
  type DaemonAnswer,
  type DaemonRequest,
  type LeaseKey,
} from './protocol.js';

/** Where the daemon writes what it does (JSON lines in the CLI). */
export interface DaemonLog {
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
}

export interface DhcpDaemonOptions {
  socketPath: string;
  /** where leases are kept across restarts */
  stateDir: string;
  /** written with the daemon's pid while it runs */
  pidfile?: string;
  /** prefixed to every namespace path (the daemon in a container with the host's root under it) */
  hostPrefix?: string;
  /** give up on one exchange after this long (ms) */
  timeoutMs: number;
  /** resend a message after this long without an answer (ms) */
  resendMs: number;
  log: DaemonLog;
}

/** A lease the daemon holds: what is stored, the namespace held open, the next timer. */
interface Held {
  stored: StoredLease;
  /** the pod namespace, open: renewals reach it whatever became of its path */
  fd: number;
  timer?: NodeJS.Timeout;
  /** when a renewal failed: when to try again */
  retry?: number;
}

/** Longest delay setTimeout takes; a later wake-up is reached in steps. */
const MAX_DELAY = 2 ** 31 - 1;

export class DhcpDaemon {
  private readonly held = new Map<string, Held>();
  /** per client ID, the tail of its queue: one operation at a time per lease */
  private readonly queues = new Map<string, Promise<unknown>>();
  private readonly store: LeaseStore;
  private server?: Server;

  constructor(private readonly o: DhcpDaemonOptions) {
    this.store = new LeaseStore(o.stateDir);
  }

  /** Adopt the stored leases, then listen. */
  async start(): Promise<void> {
    for (const s of this.store.loadAll((file, why) => this.o.log.warn('unreadable lease file removed', { file, why }))) this.adopt(s);
    await this.listen();
    if (this.o.pidfile) writeFileSync(this.o.pidfile, `${process.pid}`);
    this.o.log.info('listening', { socket: this.o.socketPath, stateDir: this.o.stateDir, leases: this.held.size });
  }

  /** Stop listening and renewing; the leases stay on disk for the next daemon. */
  async close(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    rmSync(this.o.socketPath, { force: true });
    if (this.o.pidfile) rmSync(this.o.pidfile, { force: true });
    await Promise.allSettled([...this.queues.values()]);
    for (const h of this.held.values()) {
      clearTimeout(h.timer);
      closeSync(h.fd);
    }
    this.held.clear();
  }

  private async listen(): Promise<void> {
    const path = this.o.socketPath;
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    if (existsSync(path)) {
      // A socket left by a daemon that died is removed; one that answers is another daemon's.
      const alive = await callDaemon(path, { method: 'ping' }).then(
        () => true,
        () => false,
      );
      if (alive) throw new Error(`another DHCP daemon is listening at ${path}`);
      rmSync(path, { force: true });
    }
    const server = createServer({ allowHalfOpen: true }, (sock) => serveConnection(sock, (req) => this.serve(req)));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, () => resolve());
    });
    this.server = server;
  }

  /** Answer one request of the plugin. */
  async serve(req: DaemonRequest): Promise<DaemonAnswer> {
    try {
      switch (req.method) {
        case 'ping':
          return { ok: true };
        case 'allocate':
          return { ok: true, lease: await this.queued(clientId(req), () => this.allocate(req)) };
        case 'lookup': {
          const h = this.held.get(clientId(req));
          return h ? { ok: true, lease: h.stored.lease } : { ok: true };
        }
        case 'release':
          await this.queued(clientId(req), () => this.release(clientId(req)));
          return { ok: true };
        case 'gc': {
          const valid = new Set(req.valid.map((v) => `${v.containerId}/${v.ifname}`));
          const stale = [...this.held.values()]
            .map((h) => h.stored)
            .filter((s) => s.network === req.network && !valid.has(`${s.containerId}/${s.ifname}`));
          for (const s of stale) await this.queued(s.clientId, () => this.release(s.clientId));
          return { ok: true, released: stale.map((s) => s.clientId) };
        }
        default:
          throw new CniError(ErrorCode.DecodingFailure, `unknown request ${JSON.stringify((req as { method?: unknown }).method)}`);
      }
    } catch (e) {
      return { ok: false, error: toCniError(e).toJSON() };
    }
  }

  private queued<T>(id: string, op: () => Promise<T>): Promise<T> {
    const prev = this.queues.get(id) ?? Promise.resolve();
    const next = prev.then(op, op);
    const tail = next.catch(() => undefined);
    this.queues.set(id, tail);
    void tail.then(() => {
      if (this.queues.get(id) === tail) this.queues.delete(id);
    });
    return next;
  }

  private nsPath(path: string): string {
    return `${this.o.hostPrefix ?? ''}${path}`;
  }

  /** The lease held for the attachment (as the reference: no new DISCOVER), else a new one. */
  private async allocate(req: AllocateRequest): Promise<DhcpLease> {
    const id = clientId(req);
    const known = this.held.get(id);
    if (known) return known.stored.lease;
    const fd = openSync(this.nsPath(req.netns), 'r');
    const h: Held = {
      fd,
      stored: {
        ...key(req),
        clientId: id,
        netnsPath: req.netnsPath,
        request: req.request,
        provide: req.provide,
        lease: undefined as never,
        boundAt: 0,
      },
    };
    try {
      this.o.log.info('acquiring lease', { clientId: id });
      const lease = await this.exchange(h, DhcpExchange.Acquire);
      if (lease.prefixLen === undefined) {
        h.stored.lease = lease;
        await this.sendRelease(h);
        throw new CniError(ErrorCode.Internal, 'DHCP option Subnet Mask not found in DHCPACK');
      }
      this.commit(h, lease);
    } catch (e) {
      closeSync(fd);
      throw e;
    }
    this.held.set(id, h);
    this.o.log.info('lease acquired', {
      clientId: id,
      address: h.stored.lease.address,
      expires: new Date(leaseTimes(h.stored).expiry).toISOString(),
    });
    return h.stored.lease;
  }

  /** Stop renewing, send DHCPRELEASE (its failure is logged: the lease is given up either way), forget. */
  private async release(id: string): Promise<void> {
    const h = this.held.get(id);
    if (!h) return;
    this.held.delete(id);
    clearTimeout(h.timer);
    await this.sendRelease(h);
    this.store.remove(id);
    closeSync(h.fd);
    this.o.log.info('lease released', { clientId: id, address: h.stored.lease.address });
  }

  private async sendRelease(h: Held): Promise<void> {
    try {
      await this.exchange(h, DhcpExchange.Release);
    } catch (e) {
      this.o.log.warn('DHCPRELEASE not sent', { clientId: h.stored.clientId, error: e instanceof Error ? e.message : String(e) });
    }
  }

  private async exchange(h: Held, exchange: DhcpExchange): Promise<DhcpLease> {
    const s = h.stored;
    const answer = await dhcpExchange({
      netns: `/proc/self/fd/${h.fd}`,
      ifname: s.ifname,
      exchange,
      clientId: s.clientId,
      address: s.lease?.address,
      server: s.lease?.server,
      request: s.request,
      provide: s.provide,
      timeoutMs: this.o.timeoutMs,
      resendMs: this.o.resendMs,
    });
    return answer.lease as DhcpLease;
  }

  /** A new ACK: stored, and the next renewal scheduled. */
  private commit(h: Held, lease: DhcpLease): void {
    h.stored = { ...h.stored, lease, boundAt: Date.now() };
    h.retry = undefined;
    this.store.save(h.stored);
    this.schedule(h);
  }

  /** A lease found on disk at start: held again if its namespace is still there and it has not expired. */
  private adopt(s: StoredLease): void {
    const { expiry } = leaseTimes(s);
    if (Date.now() >= expiry) {
      this.o.log.warn('stored lease expired while no daemon ran', { clientId: s.clientId, address: s.lease.address });
      this.store.remove(s.clientId);
      return;
    }
    let fd: number;
    try {
      fd = openSync(this.nsPath(s.netnsPath), 'r');
    } catch (e) {
      this.o.log.warn('stored lease dropped: its namespace is gone', { clientId: s.clientId, netns: s.netnsPath, error: String(e) });
      this.store.remove(s.clientId);
      return;
    }
    const h: Held = { stored: s, fd };
    this.held.set(s.clientId, h);
    this.schedule(h);
    this.o.log.info('lease adopted', { clientId: s.clientId, address: s.lease.address });
  }

  /** Wake up at T1 (bound) or at the retry time (renewing, rebinding). */
  private schedule(h: Held): void {
    clearTimeout(h.timer);
    const due = h.retry ?? leaseTimes(h.stored).t1;
    if (!Number.isFinite(due)) return; // an infinite lease is never renewed
    const delay = Math.max(0, Math.min(due - Date.now(), MAX_DELAY));
    h.timer = setTimeout(() => {
      if (Date.now() < due) return this.schedule(h);
      void this.queued(h.stored.clientId, () => this.maintain(h));
    }, delay);
  }

  /** RENEWING before T2 (unicast to the server), REBINDING after (broadcast), until expiry. */
  private async maintain(h: Held): Promise<void> {
    const id = h.stored.clientId;
    if (this.held.get(id) !== h) return; // released meanwhile
    const times = leaseTimes(h.stored);
    const now = Date.now();
    if (now >= times.expiry) {
      // The reference brings the interface down here; the address stays ours to remove by DEL.
      this.o.log.warn('lease expired', { clientId: id, address: h.stored.lease.address });
      this.held.delete(id);
      this.store.remove(id);
      closeSync(h.fd);
      return;
    }
    const rebinding = now >= times.t2;
    try {
      const lease = await this.exchange(h, rebinding ? DhcpExchange.Rebind : DhcpExchange.Renew);
      if (this.held.get(id) !== h) return;
      this.commit(h, lease);
      this.o.log.info(rebinding ? 'lease rebound' : 'lease renewed', {
        clientId: id,
        address: lease.address,
        expires: new Date(leaseTimes(h.stored).expiry).toISOString(),
      });
    } catch (e) {
      h.retry = retryAt(times, now);
      this.o.log.warn(rebinding ? 'rebinding failed' : 'renewal failed', {
        clientId: id,
        error: e instanceof Error ? e.message : String(e),
        retry: new Date(h.retry).toISOString(),
      });
      this.schedule(h);
    }
  }
}

function key(k: LeaseKey): LeaseKey {
  return { containerId: k.containerId, network: k.network, ifname: k.ifname };
}
