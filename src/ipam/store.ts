// host-local's on-disk store, byte-compatible with the reference: <dataDir>/<network>/ holds one
// file per reserved address ("<id>\r\n<ifname>", mode 0600), last_reserved_ip.<rangeset>, and the
// `lock` file whose flock guards every change. Lookups go through the directory index.
import {
  closeSync,
  fstatSync,
  ftruncateSync,
  linkSync,
  lstatSync,
  mkdirSync,
  open,
  openSync,
  readdirSync,
  readFileSync,
  statSync,
  truncateSync,
  unlinkSync,
  writeSync,
  constants,
} from 'node:fs';
import { join } from 'node:path';
import { DirIndex, RESERVING_FILE, SPARES_DIR, dirIdentity, type IndexSource } from './dir-index.js';
import { withLock } from './lock.js';
import { spareRefillsOn } from './spare-policy.js';
export { setSpareRefills } from './spare-policy.js';
import { formatIp, parseIp, type Ip } from '../net/ip.js';
import { fileIn } from '../spec/file-name.js';
import { fault } from '../faults.js';

const LINE_BREAK = '\r\n';
const LAST_IP_PREFIX = 'last_reserved_ip.';

/** An attachment identity (GC's valid list uses the same shape). */
export interface Owner {
  containerID: string;
  ifname: string;
}

function ownerKey(id: string, ifname: string): string {
  return id.trim() + LINE_BREAK + ifname;
}

/** The state directory of one network. */
export class DiskStore {
  /** the network directory: dataDir/network */
  readonly dir: string;
  /** the flock file shared with the reference */
  readonly lockPath: string;
  /** the network directory's identity (dirIdentity): its path may be one of several to it */
  private readonly identity: string;
  /** how the index was obtained inside the last transaction (diagnostics, tests) */
  lastIndexSource: IndexSource | undefined;

  /** @param log where warnings about damaged files go (a plugin's stderr) */
  constructor(
    dataDir: string,
    network: string,
    private readonly log: (line: string) => void = () => undefined,
  ) {
    this.dir = fileIn(dataDir, network, 'network name');
    this.lockPath = join(this.dir, 'lock');
    mkdirSync(this.dir, { recursive: true, mode: 0o755 });
    this.identity = dirIdentity(statSync(this.dir, { bigint: true }));
  }

  /**
   * Keep SPARE_TARGET empty files ready in <dir>/.fastcni-spares for the next reservations to write
   * into: an ADD then does not wait for the file system to allocate an inode (a figure is in
   * benchmarks/README.md). Made in a long-lived process after a reservation took one, on a libuv
   * thread, while the pod is being wired. They live in a directory of their own, so making them
   * changes neither the network directory nor the index: no flock and no index record. Only
   * reservations (under the flock) take them.
   *
   * The refill goes on after the request that started it has been answered, so it reaches the
   * directory through a descriptor of its own, opened now: the store's path may name the
   * descriptors of the agent's caller (PathView.local), which close with the answer. The pool is
   * the directory's (`identity`), whatever path led to it.
   */
  private async refillSpares(identity: string): Promise<void> {
    const pool = poolOf(identity);
    if (pool.filling) return;
    pool.filling = true;
    let dirFd: number | undefined;
    try {
      dirFd = openSync(this.dir, constants.O_RDONLY | constants.O_DIRECTORY);
      // replaced since the transaction: its spares are another directory's business
      if (dirIdentity(fstatSync(dirFd, { bigint: true })) !== identity) return;
      const dir = `/proc/self/fd/${dirFd}`;
      if (!pool.prepared) await prepareSpares(dir, pool, identity);
      const spares = join(dir, SPARES_DIR);
      while (pool.ready.length < SPARE_TARGET) {
        const name = `${process.pid}.${++pool.seq}`;
        try {
          closeSync(await openAsync(join(spares, name), constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600));
        } catch (e) {
          // a name left by an earlier process with our pid (adopted already): take the next one
          if ((e as NodeJS.ErrnoException).code === 'EEXIST') continue;
          throw e;
        }
        pool.ready.push(name);
      }
    } finally {
      if (dirFd !== undefined) closeSync(dirFd);
      pool.filling = false;
    }
  }

  /**
   * Run fn under the directory's flock with a loaded index; changes fn makes through the
   * transaction are written to the index before the lock is released.
   */
  async transaction<T>(fn: (tx: StoreTransaction) => T, opts: { rebuildIndex?: boolean } = {}): Promise<T> {
    const run = async (): Promise<T> => {
      const index = new DirIndex(this.dir);
      index.load(opts.rebuildIndex ?? false);
      this.lastIndexSource = index.source;
      const tx = new StoreTransaction(this.dir, index, pools.get(index.identity), this.log);
      try {
        return fn(tx);
      } finally {
        index.commit();
        // the directory may be gone; the next reservation then makes its own staging file
        if (tx.spareTaken && spareRefillsOn()) this.refillSpares(index.identity).catch(() => undefined);
      }
    };
    return withLock(this.lockPath, run, this.identity);
  }
}

/**
 * Once per process and directory, under the flock: make the spares directory (the index records
 * the network directory's new stamp), adopt the spares an earlier process left, emptied, and
 * clear what a crash between writing and linking left: a spare still linked to an address loses
 * only its spare name, and a staging file in the network directory goes.
 */
async function prepareSpares(dir: string, pool: SparePool, identity: string): Promise<void> {
  const prepare = async (): Promise<void> => {
    const index = new DirIndex(dir);
    index.load(false);
    try {
      const spares = join(dir, SPARES_DIR);
      try {
        mkdirSync(spares, { mode: 0o700 });
        index.touch();
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
      for (const name of readdirSync(spares)) {
        const path = join(spares, name);
        const st = lstatSync(path);
        if (!st.isFile()) continue;
        if (st.nlink > 1) unlinkSync(path);
        else {
          if (st.size > 0) truncateSync(path, 0);
          pool.ready.push(name);
        }
      }
      try {
        unlinkSync(join(dir, RESERVING_FILE));
        index.touch();
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      }
    } finally {
      index.commit();
    }
    pool.prepared = true;
  };
  // queued behind the transaction that asked for the refill (same key), not on a second flock
  await withLock(join(dir, 'lock'), prepare, identity);
}

/** Spares kept ready per network directory. */
const SPARE_TARGET = 4;

/** This process's spares of one network directory. */
interface SparePool {
  /** names of empty files in the spares directory, taken last first */
  ready: string[];
  /** the directory was made and earlier processes' spares adopted */
  prepared: boolean;
  /** a refill is running: it goes on until the pool is full */
  filling: boolean;
  /** last number used in a spare's name (<pid>.<n>) */
  seq: number;
}

/** By the directory's identity (dirIdentity), like its in-memory index. */
const pools = new Map<string, SparePool>();

function poolOf(identity: string): SparePool {
  let p = pools.get(identity);
  if (!p) pools.set(identity, (p = { ready: [], prepared: false, filling: false, seq: 0 }));
  return p;
}

/** Forget this process's spares (the files stay, for the next pool to adopt): as after a restart. */
export function forgetSpares(): void {
  pools.clear();
}

function openAsync(path: string, flags: number, mode: number): Promise<number> {
  return new Promise((resolve, reject) => open(path, flags, mode, (e, fd) => (e ? reject(e) : resolve(fd))));
}

/** Operations on the store while its flock is held. */
export class StoreTransaction {
  constructor(
    readonly dir: string,
    private readonly index: DirIndex,
    /** the directory's spares, if this process made any */
    private readonly spares?: SparePool,
    private readonly log: (line: string) => void = () => undefined,
  ) {}

  /** Whether the index knows a reservation of this address. */
  isReserved(ip: Ip): boolean {
    return this.index.entries.has(formatIp(ip));
  }

  /**
   * Reserve an address for (id, ifname) with an exclusive create, as the reference does; on success
   * also overwrite last_reserved_ip.<rangeId>. Returns false when the file already exists.
   */
  reserve(id: string, ifname: string, ip: Ip, rangeId: string): boolean {
    const name = formatIp(ip);
    const path = join(this.dir, name);
    const content = ownerKey(id, ifname);
    // The reference creates the file and then writes it, so a crash in between leaves an empty
    // reservation nobody owns. We write the content first and link it into place: link(2) fails
    // with EEXIST like O_EXCL does, and the address file never exists without its owner.
    const spare = this.spares?.ready.pop();
    const staging = spare !== undefined ? join(this.dir, SPARES_DIR, spare) : join(this.dir, RESERVING_FILE);
    this.writeStaging(staging, content);
    fault('hostLocal.staged');
    try {
      linkSync(staging, path);
      fault('hostLocal.linked');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') {
        // The index missed it (a racy foreign change): learn the owner and go on.
        this.index.set(name, readOwner(path) ?? '');
        return false;
      }
      throw e;
    } finally {
      unlinkSync(staging);
    }
    this.index.set(name, content);
    writeLastReserved(join(this.dir, LAST_IP_PREFIX + rangeId), name);
    fault('hostLocal.reserved');
    return true;
  }

  /** A reservation used a spare (or made its own staging file): more spares are wanted. */
  spareTaken = false;

  /**
   * Put `content` in the staging file: a spare (no inode to allocate), else a new file. A staging
   * file that still has another link is a reservation a crash left between link and unlink: it is
   * set aside, never written into.
   */
  private writeStaging(staging: string, content: string): void {
    let fd = openSync(staging, constants.O_WRONLY | constants.O_CREAT, 0o600);
    try {
      if (fstatSync(fd).nlink > 1) {
        closeSync(fd);
        fd = -1;
        unlinkSync(staging);
        fd = openSync(staging, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
      }
      // cut to length: what a crash before the link left there may be longer (an empty spare has
      // no data, so this costs no flush)
      overwrite(fd, content);
    } finally {
      if (fd >= 0) closeSync(fd);
    }
    this.spareTaken = true;
  }

  /** The address last reserved in a range set, if the file exists and parses. */
  lastReservedIp(rangeId: string): Ip | undefined {
    const file = join(this.dir, LAST_IP_PREFIX + rangeId);
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      return undefined;
    }
    const ip = parseIp(text);
    // As the reference (net.ParseIP gives nil): only the round robin's start is lost.
    if (!ip) this.log(`host-local: ${file} holds no address (${JSON.stringify(text.slice(0, 64))}): allocating from the range start`);
    return ip;
  }

  /** Addresses held by (id, ifname), legacy id-only files included (reference GetByID). */
  getByOwner(id: string, ifname: string): Ip[] {
    const match = ownerKey(id, ifname);
    const legacy = id.trim();
    const exact = this.index.namesOf(match);
    const old = this.index.namesOf(legacy);
    const count = (exact?.size ?? 0) + (old?.size ?? 0);
    if (count === 0) return [];
    if (count === 1) {
      const ip = parseIp([...(exact ?? old)!][0]!);
      return ip ? [ip] : [];
    }
    // Several: in the index's order, as a scan of it gives them.
    const out: Ip[] = [];
    for (const [name, owner] of this.index.entries) {
      if (owner !== match && owner !== legacy) continue;
      const ip = parseIp(name);
      if (ip) out.push(ip);
    }
    return out;
  }

  /** Whether (id, ifname) — or failing that, a legacy file of id — holds any reservation (reference FindByID). */
  hasOwner(id: string, ifname: string): boolean {
    const match = ownerKey(id, ifname);
    const legacy = id.trim();
    return this.index.namesOf(match) !== undefined || this.index.namesOf(legacy) !== undefined;
  }

  /**
   * Release every reservation of (id, ifname); when there is none, those of a legacy file holding
   * just id (reference ReleaseByID). Missing files are success. Returns the released file names.
   */
  releaseByOwner(id: string, ifname: string): string[] {
    const key = ownerKey(id, ifname);
    const released = this.releaseMatching((owner) => owner === key, this.index.namesOf(key));
    if (released.length > 0) return released;
    const legacy = id.trim();
    const old = this.releaseMatching((owner) => owner === legacy, this.index.namesOf(legacy));
    if (old.length > 0) return old;
    // A torn write (the reference creates the file before writing its owner) may have been this
    // attachment's: which one is unknown, so it stays reserved, never handed out twice, until GC.
    for (const name of this.index.namesOf('') ?? []) {
      this.log(`host-local: ${join(this.dir, name)} is empty: its owner is unknown, the address stays reserved until GC releases it`);
    }
    return [];
  }

  /**
   * GC: release every reservation whose owner is not a valid attachment. A legacy id-only file is
   * kept when any valid attachment has that container ID. Only files named by an address are
   * considered. Returns the released file names.
   */
  releaseAllExcept(valid: Owner[]): string[] {
    const keep = new Set(valid.map((a) => ownerKey(a.containerID, a.ifname)));
    const keepIds = new Set(valid.map((a) => a.containerID.trim()));
    return this.releaseMatching((owner, name) => {
      if (!parseIp(name)) return false;
      return owner.includes(LINE_BREAK) ? !keep.has(owner) : !keepIds.has(owner);
    });
  }

  /** Release the reservations matching pred, among `among` (names to look at) or all of them. */
  private releaseMatching(pred: (owner: string, name: string) => boolean, among?: Iterable<string>): string[] {
    const released: string[] = [];
    const names = among ? [...among] : [...this.index.entries.keys()];
    for (const name of names) {
      const owner = this.index.entries.get(name);
      if (owner === undefined || !pred(owner, name)) continue;
      const path = join(this.dir, name);
      // The disk is the truth: never remove a file whose current owner is not the one indexed.
      const current = readOwner(path);
      if (current === undefined) {
        this.index.delete(name);
        continue;
      }
      if (current !== owner) {
        this.index.set(name, current);
        if (!pred(current, name)) continue;
      }
      try {
        unlinkSync(path);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') continue;
      }
      this.index.delete(name);
      released.push(name);
    }
    return released;
  }
}

function readOwner(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/**
 * Overwrite last_reserved_ip.<range> with `text` (mode 0600 when created), as the reference's
 * os.WriteFile does, but without O_TRUNC: on ext4, truncating a file with data to zero and writing
 * it again makes close() flush it (auto_da_alloc), a wait on every ADD (figure: benchmarks/README.md).
 * Writing in place and then cutting to the new length leaves the same bytes. Only flock holders
 * (us and the reference) read the file, so no reader sees the step between. A crash in between can
 * leave other text there (as a crash after O_TRUNC leaves an empty file): the file is only the
 * round robin's starting hint — every candidate is still checked against the reservations — so at
 * worst the next allocation starts elsewhere, or at the range start when the text does not parse.
 */
function writeLastReserved(path: string, text: string): void {
  const fd = openSync(path, constants.O_WRONLY | constants.O_CREAT, 0o600);
  try {
    overwrite(fd, text);
  } finally {
    closeSync(fd);
  }
}

/** Write `text` over an open file from its start and cut the file to its length. */
function overwrite(fd: number, text: string): void {
  const buf = Buffer.from(text, 'utf8');
  let off = 0;
  while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off, off);
  ftruncateSync(fd, buf.length);
}
