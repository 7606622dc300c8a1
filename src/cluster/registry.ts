// The etcd side of the cluster: node leases under <prefix>/subnets/, taken by transaction and kept
// alive on one keep-alive stream, and one watch stream over all of them. The client's retries are
// bounded (short back-off, no long circuit-breaker pause) so that an etcd outage ends for us within
// about a second of etcd answering again.
import { ConsecutiveBreaker, ExponentialBackoff, circuitBreaker, handleWhen, retry } from 'cockatiel';
import { Etcd3, isRecoverableError, type IKeyValue, type Lease, type Namespace, type Watcher } from 'etcd3';

/** The value of a subnet key: who holds it and how to reach its pods. */
export interface LeaseRecord {
  node: string;
  publicIP: string;
  /** the node's subnets (CIDR text), IPv4 first */
  subnets: string[];
  backend: string;
  vtepMAC?: string;
  /** when the lease was taken (ms since the epoch) */
  leasedAt: number;
}

/** One subnet key as read: its last segment ("10.244.3.0-24"), value and revision. */
export interface RegistryEntry {
  name: string;
  record: LeaseRecord;
  modRevision: bigint;
}

/** What the watch reports. */
export interface WatchHandlers {
  put(e: RegistryEntry): void;
  delete(name: string, modRevision: bigint): void;
  /** the stream broke (etcd unreachable); it reconnects by itself */
  disconnected(err: Error): void;
  /** the stream is attached again after `disconnected` */
  reconnected(): void;
}

/** A record read from etcd; undefined when the value is not one (someone else's key). */
export function parseRecord(value: Buffer | string): LeaseRecord | undefined {
  try {
    const r = JSON.parse(value.toString()) as Partial<LeaseRecord>;
    if (typeof r.node !== 'string' || typeof r.publicIP !== 'string' || !Array.isArray(r.subnets)) return undefined;
    if (!r.subnets.every((s) => typeof s === 'string')) return undefined;
    return r as LeaseRecord;
  } catch {
    return undefined;
  }
}

function entryOf(kv: IKeyValue): RegistryEntry | undefined {
  const record = parseRecord(kv.value);
  return record && { name: kv.key.toString(), record, modRevision: BigInt(kv.mod_revision) };
}

/** The node leases of one cluster in etcd. */
export class Registry {
  private readonly client: Etcd3;
  private readonly ns: Namespace;

  constructor(endpoints: string[], prefix: string) {
    this.client = new Etcd3({
      hosts: endpoints,
      dialTimeout: 1000,
      // gRPC's own reconnect back-off grows to 120 s by default: keep it near a second
      grpcOptions: { 'grpc.initial_reconnect_backoff_ms': 100, 'grpc.max_reconnect_backoff_ms': 1000 },
      // a short deadline per call so a dead member is given up quickly for the next
      defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + 2000 }),
      faultHandling: {
        host: () => circuitBreaker(handleWhen(isRecoverableError), { halfOpenAfter: 300, breaker: new ConsecutiveBreaker(3) }),
        global: retry(handleWhen(isRecoverableError), {
          maxAttempts: 3,
          backoff: new ExponentialBackoff({ initialDelay: 50, maxDelay: 300 }),
        }),
        // etcd3 takes a first step (an IBackoff), not the factory; each reconnect starts from it again
        watchBackoff: new ExponentialBackoff({ initialDelay: 100, maxDelay: 1000 }).next(),
      },
    });
    this.ns = this.client.namespace(`${prefix}/subnets/`);
  }

  /** Every subnet key and the revision the list was read at (the one Range of a start or reconnect). */
  async list(): Promise<{ entries: RegistryEntry[]; revision: bigint }> {
    const res = await this.ns.getAll().exec();
    const entries = res.kvs.flatMap((kv) => entryOf(kv) ?? []);
    return { entries, revision: BigInt(res.header.revision) };
  }

  /** A lease of `ttl` seconds, kept alive on the client's keep-alive stream. */
  async grant(ttl: number): Promise<Lease> {
    const lease = this.client.lease(ttl);
    // `lost` is reported through the controller's own check too; a listener keeps an unobserved loss from throwing
    lease.on('lost', () => {});
    await lease.grant();
    return lease;
  }

  /**
   * Take the key `name` for `record` under `lease`: when nobody holds it, or when its holder is
   * this node (a lease of ours that lapsed, or a previous run). True when taken.
   */
  async acquire(name: string, record: LeaseRecord, lease: Lease): Promise<boolean> {
    const value = JSON.stringify(record);
    const id = await lease.grant();
    const put = () => this.ns.put(name).value(value).lease(id);
    const fresh = await this.ns.if(name, 'Create', '==', 0).then(put()).commit();
    if (fresh.succeeded) return true;
    const cur = await this.ns.get(name).exec();
    const kv = cur.kvs[0];
    if (!kv) return this.acquire(name, record, lease);
    if (parseRecord(kv.value)?.node !== record.node) return false;
    const ours = await this.ns.if(name, 'Mod', '==', kv.mod_revision).then(put()).commit();
    return ours.succeeded;
  }

  /** Delete our key unless someone else holds it by now (revoking the lease does it too). */
  async release(name: string, node: string): Promise<void> {
    const cur = await this.ns.get(name).exec();
    const kv = cur.kvs[0];
    if (kv && parseRecord(kv.value)?.node === node)
      await this.ns.if(name, 'Mod', '==', kv.mod_revision).then(this.ns.delete().key(name)).commit();
  }

  /** Watch every subnet key from `fromRevision` on (one stream, resumed by the client after a break). */
  async watch(fromRevision: bigint, h: WatchHandlers): Promise<Watcher> {
    const w = await this.ns.watch().prefix('').startRevision(String(fromRevision)).create();
    let broken = false;
    w.on('put', (kv) => {
      const e = entryOf(kv);
      if (e) h.put(e);
    });
    w.on('delete', (kv) => h.delete(kv.key.toString(), BigInt(kv.mod_revision)));
    w.on('disconnected', (err) => {
      broken = true;
      h.disconnected(err);
    });
    w.on('connected', () => {
      if (!broken) return;
      broken = false;
      h.reconnected();
    });
    // errors are reported through `disconnected`; the watcher retries on its own
    w.on('error', () => {});
    return w;
  }

  close(): void {
    this.client.close();
  }
}
