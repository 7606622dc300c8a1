// The node's cluster controller: leasing → serving → lost → re-leasing. It holds one etcd lease for
// its subnet key, follows every other node's key on one watch stream, and after each change hands the
// complete peer set to the overlay backend. subnet.env exists exactly while the lease is held, so the
// flannel plugin serves pods only then (code 11 otherwise).
import type { Lease, Watcher } from 'etcd3';
import { cidrText } from '../net/ip.js';
import { findPublicIp, nativeBackend, type OverlayBackend, type OverlayPeer, type OverlayRequest } from './backend.js';
import type { ClusterConfig } from './config.js';
import { Registry, type LeaseRecord, type RegistryEntry } from './registry.js';
import { readLastSubnet, removeSubnetEnv, writeLastSubnet, writeSubnetEnv } from './subnet-env.js';
import { indexOf, subnetCount, subnetKeyName, subnetOfKeyName, subnetsAt, subnetTexts, type NodeSubnets } from './subnets.js';

/** How long stop() waits for the loop and a backend sync in flight. */
const STOP_WAIT_MS = 2000;

/** Resolves when every promise has settled, or after `ms`. */
async function settledWithin(ps: Array<Promise<unknown> | undefined>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms);
  });
  await Promise.race([Promise.allSettled(ps), timeout]);
  clearTimeout(timer);
}

/** A peer node as last synced. */
export interface ClusterPeer {
  node: string;
  subnets: string[];
  publicIP: string;
  /** when the backend last synced a peer set holding it (ms since the epoch) */
  syncedAt: number;
}

/** The controller's part of `fastcni agent status`. */
export interface ClusterStatus {
  node: string;
  backend: string;
  leased: boolean;
  /** this node's subnets (CIDR text), IPv4 first; empty until the first lease */
  subnets: string[];
  publicIP: string;
  vtepMAC?: string;
  peers: ClusterPeer[];
  /** watch events received (puts and deletes of subnet keys) */
  watchEvents: number;
  /** backend syncs done */
  syncs: number;
  lastError?: string;
}

/** The log calls the controller makes (the agent's JSON logger fits). */
export interface ClusterLog {
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

export interface ClusterControllerOptions {
  log?: ClusterLog;
  /** default: the native overlay backend */
  backend?: OverlayBackend;
}

/** No subnet of the cluster CIDR is free for this node. */
export class SubnetsExhaustedError extends Error {
  override readonly name = 'SubnetsExhaustedError';
}

type State = 'leasing' | 'serving' | 'lost' | 'stopped';

const quiet: ClusterLog = { info() {}, warn() {}, error() {} };

/** Resolves the pending wait() on notify(); a notify with nobody waiting is kept for the next wait. */
class Wakeup {
  private pending = false;
  private resolve: (() => void) | undefined;
  notify(): void {
    if (this.resolve) this.resolve();
    else this.pending = true;
  }
  /** until notified or `ms` have passed */
  wait(ms = Number.POSITIVE_INFINITY): Promise<void> {
    if (this.pending) {
      this.pending = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const t = Number.isFinite(ms) ? setTimeout(() => done(), ms) : undefined;
      const done = () => {
        if (t) clearTimeout(t);
        this.resolve = undefined;
        resolve();
      };
      this.resolve = done;
    });
  }
}

/** One node's controller; start() it, stop() it. */
export class ClusterController {
  private readonly log: ClusterLog;
  private readonly registry: Registry;
  private backend: OverlayBackend | undefined;
  private state: State = 'leasing';
  private publicIP = '';
  private vtepMAC: string | undefined;
  private mtu: number | undefined;
  private mine: NodeSubnets | undefined;
  private lease: Lease | undefined;
  private lastAck = 0;
  /** every subnet key known, by its last segment */
  private readonly keys = new Map<string, RegistryEntry>();
  private watcher: Watcher | undefined;
  private watchEvents = 0;
  private syncs = 0;
  private lastError: string | undefined;
  private syncedAt = new Map<string, number>();
  private syncing: Promise<void> | undefined;
  private backendQueue: Promise<void> = Promise.resolve();
  private syncAgain = false;
  private readonly wake = new Wakeup();
  private running: Promise<void> | undefined;
  private ackTimer: NodeJS.Timeout | undefined;
  private leasedWaiters: Array<() => void> = [];

  constructor(
    readonly config: ClusterConfig,
    options: ClusterControllerOptions = {},
  ) {
    this.log = options.log ?? quiet;
    this.backend = options.backend;
    this.registry = new Registry(config.etcd.endpoints, config.etcd.prefix);
  }

  /** Find the node's address and start the loop; resolves before any lease (etcd may be down). */
  async start(): Promise<void> {
    this.backend ??= nativeBackend;
    this.publicIP = this.config.publicIP ?? (await findPublicIp(this.config.netns));
    this.log.info('cluster controller starting', {
      node: this.config.nodeName,
      publicIP: this.publicIP,
      backend: this.config.backend,
      clusterCIDR: cidrText(this.config.clusterCIDR),
      endpoints: this.config.etcd.endpoints,
    });
    // the keep-alive stream is the client's; this only notices it went unanswered for a whole TTL
    this.ackTimer = setInterval(() => this.checkAck(), 250);
    this.running = this.loop();
  }

  /** Resolves once the node holds its lease (at once when it does). */
  leased(): Promise<void> {
    if (this.state === 'serving') return Promise.resolve();
    return new Promise((resolve) => this.leasedWaiters.push(resolve));
  }

  status(): ClusterStatus {
    const peers = this.peers().map((e) => ({
      node: e.record.node,
      subnets: e.record.subnets,
      publicIP: e.record.publicIP,
      syncedAt: this.syncedAt.get(e.name) ?? 0,
    }));
    return {
      node: this.config.nodeName,
      backend: this.config.backend,
      leased: this.state === 'serving',
      subnets: this.mine ? subnetTexts(this.mine) : [],
      publicIP: this.publicIP,
      ...(this.vtepMAC ? { vtepMAC: this.vtepMAC } : {}),
      peers,
      watchEvents: this.watchEvents,
      syncs: this.syncs,
      ...(this.lastError ? { lastError: this.lastError } : {}),
    };
  }

  /**
   * Stop: the lease is revoked (the peers drop this node's routes at once) and subnet.env removed;
   * this node's own routes and device stay, so its pods keep working until the agent is back.
   */
  async stop(): Promise<void> {
    if (this.state === 'stopped') return;
    const wasServing = this.state === 'serving';
    this.state = 'stopped';
    clearInterval(this.ackTimer);
    this.wake.notify();
    // an etcd call in flight (a watch being set up while etcd is away, say) may not end soon: the
    // agent's shutdown waits for it a bounded time, then revokes what it can and closes the client
    await settledWithin([this.running, this.syncing], STOP_WAIT_MS);
    await removeSubnetEnv(this.config.subnetFile).catch(() => {});
    if (this.lease) {
      try {
        await this.lease.revoke({ deadline: Date.now() + 2000 });
      } catch (e) {
        this.log.warn('lease not revoked; it ends with its TTL', { error: (e as Error).message });
      }
    }
    this.watcher?.cancel().catch(() => {});
    this.registry.close();
    this.log.info('cluster controller stopped', { node: this.config.nodeName, revoked: wasServing });
  }

  // ── the state machine ────────────────────────────────────────────────────────────────────

  private async loop(): Promise<void> {
    let backoff = 100;
    while (!this.stopped()) {
      try {
        if (!this.watcher) await this.resync();
        if (this.state !== 'serving') await this.takeLease();
        backoff = 100;
        // serving: nothing to do until the lease is lost or we stop
        await this.wake.wait();
      } catch (e) {
        if (this.stopped()) break;
        this.fail(e);
        // exhausted: a key deleted wakes us early; etcd away: retry soon, within a second
        const exhausted = e instanceof SubnetsExhaustedError;
        await this.wake.wait(exhausted ? this.config.leaseTTL * 1000 : backoff);
        backoff = Math.min(backoff * 2, 800);
      }
    }
  }

  /** Whether stop() was called (a method: the state changes across awaits, which narrowing does not see). */
  private stopped(): boolean {
    return this.state === 'stopped';
  }

  private fail(e: unknown): void {
    const msg = (e as Error).message;
    if (msg !== this.lastError) this.log.error('cluster: lease not held', { node: this.config.nodeName, error: msg });
    this.lastError = msg;
  }

  /** Read every key (one Range) and watch from the revision after it. */
  private async resync(): Promise<void> {
    const { entries, revision } = await this.registry.list();
    this.replaceKeys(entries, revision);
    if (!this.watcher) {
      this.watcher = await this.registry.watch(revision + 1n, {
        put: (e) => this.onPut(e),
        delete: (name, rev) => this.onDelete(name, rev),
        disconnected: (err) => this.log.warn('cluster: etcd watch broken; reconnecting', { error: err.message }),
        reconnected: () => {
          this.log.info('cluster: etcd watch reconnected; reading the full list');
          this.resync().catch((e: Error) => this.log.warn('cluster: re-list failed; the watch keeps the state', { error: e.message }));
        },
      });
    }
    this.scheduleSync();
  }

  /** The listed keys replace ours, except changes the watch delivered after the list's revision. */
  private replaceKeys(entries: RegistryEntry[], revision: bigint): void {
    const listed = new Map(entries.map((e) => [e.name, e]));
    for (const [name, e] of this.keys) if (!listed.has(name) && e.modRevision <= revision) this.keys.delete(name);
    for (const e of entries) {
      const known = this.keys.get(e.name);
      if (!known || known.modRevision <= e.modRevision) this.keys.set(e.name, e);
    }
    this.checkOwnKey();
  }

  private onPut(e: RegistryEntry): void {
    this.watchEvents++;
    this.keys.set(e.name, e);
    this.checkOwnKey();
    this.scheduleSync();
  }

  private onDelete(name: string, rev: bigint): void {
    this.watchEvents++;
    const known = this.keys.get(name);
    if (known && known.modRevision < rev) this.keys.delete(name);
    this.checkOwnKey();
    this.scheduleSync();
    // a subnet became free: an exhausted node tries again now
    if (this.state !== 'serving') this.wake.notify();
  }

  /** Our key gone or taken by another node while serving: the lease is lost. */
  private checkOwnKey(): void {
    if (this.state !== 'serving' || !this.mine) return;
    const e = this.keys.get(subnetKeyName(this.mine));
    if (!e) this.lose('our subnet key was deleted');
    else if (e.record.node !== this.config.nodeName) this.lose(`our subnet key now names node ${e.record.node}`);
  }

  private checkAck(): void {
    if (this.state === 'serving' && Date.now() - this.lastAck > this.config.leaseTTL * 1000)
      this.lose(`keep-alive not acknowledged for ${this.config.leaseTTL} s`);
  }

  /** Lease lost: stop serving pods (subnet.env removed), keep every route, lease again. */
  private lose(reason: string): void {
    if (this.state !== 'serving') return;
    this.state = 'lost';
    this.lastError = `lease lost: ${reason}`;
    this.log.error('cluster: lease lost; removing subnet.env and leasing again', { node: this.config.nodeName, reason });
    this.lease?.release();
    this.lease = undefined;
    removeSubnetEnv(this.config.subnetFile)
      .catch((e: Error) => this.log.error('cluster: subnet.env not removed', { error: e.message }))
      .finally(() => this.wake.notify());
  }

  /** Subnet candidates in order of preference: the remembered one, one of a key naming us, then the lowest free. */
  private async candidates(): Promise<NodeSubnets[]> {
    const c = this.config;
    const takenByOthers = new Set<number>();
    const ours: number[] = [];
    for (const e of this.keys.values()) {
      const i = indexOf(c, subnetOfKeyName(e.name) ?? '');
      if (i === undefined) continue;
      if (e.record.node === c.nodeName) ours.push(i);
      else takenByOthers.add(i);
    }
    const preferred: number[] = [];
    if (this.mine) preferred.push(this.mine.index);
    const remembered = await readLastSubnet(c.stateDir);
    const r = remembered === undefined ? undefined : indexOf(c, remembered);
    if (r !== undefined) preferred.push(r);
    preferred.push(...ours.sort((a, b) => a - b));
    const out: number[] = [];
    for (const i of preferred) if (!takenByOthers.has(i) && !out.includes(i)) out.push(i);
    const n = subnetCount(c);
    for (let i = 0; i < n && out.length < preferred.length + 4; i++) if (!takenByOthers.has(i) && !out.includes(i)) out.push(i);
    return out.map((i) => subnetsAt(c, i)!);
  }

  /** leasing/lost → serving: grant a lease, take a subnet by transaction, write subnet.env. */
  private async takeLease(): Promise<void> {
    const c = this.config;
    const candidates = await this.candidates();
    if (candidates.length === 0)
      throw new SubnetsExhaustedError(
        `no free subnet: all ${subnetCount(c)} /${c.nodePrefixLength} subnets of clusterCIDR ${cidrText(c.clusterCIDR)} are leased by other nodes`,
      );
    const lease = await this.registry.grant(c.leaseTTL);
    lease.on('keepaliveSucceeded', () => {
      if (this.lease === lease) this.lastAck = Date.now();
    });
    lease.on('lost', (err: Error) => {
      if (this.lease === lease) this.lose(err.message);
    });
    try {
      for (const s of candidates) {
        if (this.stopped()) break;
        // the device (vxlan) and MTU first, so the record carries the VTEP MAC peers need
        await this.syncWith(s);
        const record: LeaseRecord = {
          node: c.nodeName,
          publicIP: this.publicIP,
          subnets: subnetTexts(s),
          backend: c.backend,
          ...(this.vtepMAC ? { vtepMAC: this.vtepMAC } : {}),
          leasedAt: Date.now(),
        };
        if (!(await this.registry.acquire(subnetKeyName(s), record, lease))) continue;
        // the subnet.env of a stop that raced us must not be written
        if (this.stopped()) {
          this.lease = lease;
          return;
        }
        this.mine = s;
        this.lease = lease;
        this.lastAck = Date.now();
        await writeLastSubnet(c.stateDir, cidrText(s.subnet));
        await writeSubnetEnv(c.subnetFile, {
          network: c.clusterCIDR,
          subnet: s.subnet,
          ...(c.clusterCIDR6 && s.subnet6 ? { network6: c.clusterCIDR6, subnet6: s.subnet6 } : {}),
          mtu: c.mtu ?? this.mtu ?? 1500,
        });
        this.state = 'serving';
        this.lastError = undefined;
        this.log.info('cluster: subnet leased', { node: c.nodeName, subnets: subnetTexts(s), lease: await lease.grant() });
        for (const w of this.leasedWaiters.splice(0)) w();
        this.scheduleSync();
        return;
      }
    } catch (e) {
      if (this.lease !== lease) lease.release();
      throw e;
    }
    lease.release();
    if (this.state === 'stopped') return;
    throw new SubnetsExhaustedError(
      `no free subnet: the candidates of clusterCIDR ${cidrText(c.clusterCIDR)} were taken by other nodes meanwhile; trying again`,
    );
  }

  // ── the backend ──────────────────────────────────────────────────────────────────────────

  /** Other nodes' keys (never one naming this node: that is ours, current or stale). */
  private peers(): RegistryEntry[] {
    return [...this.keys.values()].filter((e) => e.record.node !== this.config.nodeName).sort((a, b) => a.name.localeCompare(b.name));
  }

  private request(local: NodeSubnets | undefined): OverlayRequest {
    const c = this.config;
    const peers: OverlayPeer[] = this.peers()
      .filter((e) => e.record.backend === c.backend && (c.backend !== 'vxlan' || e.record.vtepMAC))
      .map((e) => ({ subnets: e.record.subnets, publicIp: e.record.publicIP, ...(e.record.vtepMAC ? { vtepMac: e.record.vtepMAC } : {}) }));
    return {
      ...(c.netns ? { hostNetns: c.netns } : {}),
      backend: c.backend,
      localSubnets: local ? subnetTexts(local) : [],
      publicIp: this.publicIP,
      ...(c.vxlan.device ? { device: c.vxlan.device } : {}),
      ...(c.vxlan.vni !== undefined ? { vni: c.vxlan.vni } : {}),
      ...(c.vxlan.port !== undefined ? { port: c.vxlan.port } : {}),
      peers,
    };
  }

  /** One backend call with the complete peer set as known now; calls never overlap. */
  private syncWith(local: NodeSubnets | undefined): Promise<void> {
    const run = this.backendQueue.then(() => this.syncNow(local));
    this.backendQueue = run.catch(() => {});
    return run;
  }

  private async syncNow(local: NodeSubnets | undefined): Promise<void> {
    const req = this.request(local);
    const names = this.peers().map((e) => e.name);
    const st = await this.backend!.sync(req);
    this.syncs++;
    this.vtepMAC = st.vtepMac ?? undefined;
    this.mtu = st.mtu;
    const now = Date.now();
    this.syncedAt = new Map(names.map((n) => [n, now]));
    if (st.added || st.removed)
      this.log.info('cluster: routes synced', { peers: req.peers.length, routes: st.routes, added: st.added, removed: st.removed });
  }

  /** Sync soon; changes arriving during a sync are folded into one more. */
  private scheduleSync(): void {
    if (this.state === 'stopped') return;
    if (this.syncing) {
      this.syncAgain = true;
      return;
    }
    this.syncing = (async () => {
      do {
        this.syncAgain = false;
        try {
          await this.syncWith(this.mine);
        } catch (e) {
          this.lastError = `sync: ${(e as Error).message}`;
          this.log.error('cluster: backend sync failed', { error: (e as Error).message });
        }
      } while (this.syncAgain && !this.stopped());
    })().finally(() => {
      this.syncing = undefined;
    });
  }
}
