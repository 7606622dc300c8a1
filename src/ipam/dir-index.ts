// The index of a host-local network directory (`.fastcni-index`): which address files exist and
// whom they belong to, so that an ADD or DEL does not read every file as the reference does.
//
// Why a stat check is enough to trust it: every writer of the directory — us and the reference
// host-local — creates or removes files only while holding the flock on `lock`, and we record our
// own changes in the index (written in place, so the directory itself is not touched) under that
// same flock, together with the directory's dev/ino/mtime/ctime as they are after the change. Any
// later create, unlink or rename in the directory changes its mtime and ctime, and because we
// stat()ed the directory after our change, the kernel's multigrain timestamps (Linux ≥ 6.13 on
// ext4, xfs, btrfs, tmpfs) hand out a fine-grained, strictly newer timestamp for that next change.
// So "stat unchanged" means "no foreign change". On kernels or file systems with coarse timestamps
// only, a foreign change in the same clock tick as our stat could keep the time equal; we then
// treat the index as racily clean (as git does) whenever the index file is not strictly newer than
// the directory time it records, and rebuild. A stale, racy, unreadable, partial or corrupt index
// is rebuilt by a full scan (the reference's cost, paid once after a foreign change). An
// incremental rescan would have to notice a file removed and re-created under the same name by
// another owner, which readdir alone cannot.
//
// The file is a journal, so that one ADD or DEL writes O(1) bytes, not the whole index: a header
// line, then records, one per line, each "<sha256 of the JSON> <JSON>\n". The first record is a
// snapshot {stamp, entries}; each later one is a delta {stamp, set, del} appended by one commit.
// Replaying them in order gives the entries as of the last record's stamp, which must equal the
// directory's current stamp. A record is appended only when the file is exactly what this process
// last wrote or read (same inode, size, mtime, ctime) — otherwise, or once the journal holds many
// more records than entries, the commit rewrites it as one snapshot (amortised O(1) per change). Any
// line that is incomplete (a crash mid-append) or fails its checksum makes the whole index
// untrusted, and it is rebuilt: the last complete record's stamp predates the change the lost
// record described, so a torn tail could never be trusted anyway.
import {
  closeSync,
  fstatSync,
  ftruncateSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  writeSync,
  statSync,
  constants,
  type BigIntStats,
} from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';

/** File name of the index inside the network directory. */
export const INDEX_FILE = '.fastcni-index';
const HEADER = 'fastcni-index 2';
/** The journal is compacted when it has more than 2 × entries + this many records. */
const COMPACT_SLACK = 64;

/** What identifies one state of the directory. */
interface DirStamp {
  dev: string;
  ino: string;
  mtimeNs: string;
  ctimeNs: string;
}

/** How an index was obtained on the last load: from memory, from the index file, or rebuilt by a scan. */
export type IndexSource = 'memory' | 'file' | 'rebuilt';

interface Cached {
  stamp: DirStamp;
  /** identity of the index file when it held this content */
  fileKey: string;
  /** records in the file (snapshot included) */
  records: number;
  /** shared with the DirIndex of the transaction holding the lock; dropped when a commit fails */
  entries: Map<string, string>;
  /** owner → file names, kept in step with entries */
  owners: Map<string, Set<string>>;
}

// Long-lived processes (the agent) keep the parsed index per directory; disk stays the truth. Keyed
// by the directory's identity, not its path: the agent reaches one directory by different paths
// (its own, or through the descriptors of a caller in another mount namespace), and one path may
// name different directories for callers that see different files.
const memory = new Map<string, Cached>();

/** Forget the in-memory copies of indexes (the index files stay and are read again). */
export function dropIndexCache(): void {
  memory.clear();
}

/** Files of the directory that are not reservations. */
export function isStateFile(name: string): boolean {
  return (
    name === 'lock' || name.startsWith('last_reserved_ip.') || name.startsWith(INDEX_FILE) || name === RESERVING_FILE || name === SPARES_DIR
  );
}

/**
 * Where a reservation is written before it is linked into place under its address's name, when no
 * spare is ready (a process that makes none, or the first reservation of one that does).
 */
export const RESERVING_FILE = '.fastcni-reserving';

/**
 * A subdirectory of empty files made ahead of time (DiskStore.refillSpares): a reservation is
 * written into one and linked into place, so it waits for no inode to be allocated. Creating them
 * there leaves the network directory, and so the index's stamp, unchanged.
 */
export const SPARES_DIR = '.fastcni-spares';

function stampOf(s: BigIntStats): DirStamp {
  return { dev: String(s.dev), ino: String(s.ino), mtimeNs: String(s.mtimeNs), ctimeNs: String(s.ctimeNs) };
}

/**
 * Which directory this is, whatever path reached it: the key of its in-memory index, its spares
 * and its lock's queue. The birth time tells a directory from an earlier one whose inode number it
 * reuses (0 where the file system does not keep it).
 */
export function dirIdentity(st: BigIntStats): string {
  return `${st.dev}:${st.ino}:${st.birthtimeNs}`;
}

function sameStamp(a: DirStamp, b: DirStamp): boolean {
  return a.dev === b.dev && a.ino === b.ino && a.mtimeNs === b.mtimeNs && a.ctimeNs === b.ctimeNs;
}

function keyOf(st: BigIntStats): string {
  return `${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
}

function checksum(body: string): string {
  return createHash('sha256').update(body).digest('hex');
}

function record(value: object): string {
  const json = JSON.stringify(value);
  return `${checksum(json)} ${json}\n`;
}

function readAll(fd: number, size: number): string {
  const buf = Buffer.alloc(size);
  let off = 0;
  while (off < size) {
    const n = readSync(fd, buf, off, size - off, off);
    if (n === 0) break;
    off += n;
  }
  return buf.subarray(0, off).toString('utf8');
}

function ownersOf(entries: Map<string, string>): Map<string, Set<string>> {
  const owners = new Map<string, Set<string>>();
  for (const [name, owner] of entries) {
    const names = owners.get(owner);
    if (names) names.add(name);
    else owners.set(owner, new Set([name]));
  }
  return owners;
}

function isStamp(v: unknown): v is DirStamp {
  const s = v as DirStamp;
  return (
    typeof s === 'object' &&
    s !== null &&
    typeof s.dev === 'string' &&
    typeof s.ino === 'string' &&
    typeof s.mtimeNs === 'string' &&
    typeof s.ctimeNs === 'string'
  );
}

function isStringMap(v: unknown): v is Record<string, string> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && Object.values(v).every((x) => typeof x === 'string');
}

/** Parse and replay an index file's text; undefined when it is partial, corrupt or of another format. */
function parseIndex(text: string): { stamp: DirStamp; entries: Map<string, string>; records: number } | undefined {
  if (!text.endsWith('\n')) return undefined;
  const lines = text.slice(0, -1).split('\n');
  if (lines[0] !== HEADER || lines.length < 2) return undefined;
  let entries: Map<string, string> | undefined;
  let stamp: DirStamp | undefined;
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    const sp = line.indexOf(' ');
    if (sp < 0) return undefined;
    const json = line.slice(sp + 1);
    if (checksum(json) !== line.slice(0, sp)) return undefined;
    let rec: { stamp?: unknown; entries?: unknown; set?: unknown; del?: unknown };
    try {
      rec = JSON.parse(json) as typeof rec;
    } catch {
      return undefined;
    }
    if (typeof rec !== 'object' || rec === null || !isStamp(rec.stamp)) return undefined;
    stamp = rec.stamp;
    if (rec.entries !== undefined) {
      if (!isStringMap(rec.entries)) return undefined;
      entries = new Map(Object.entries(rec.entries));
      continue;
    }
    // A delta before any snapshot, or of the wrong shape: not ours.
    if (!entries || !isStringMap(rec.set) || !Array.isArray(rec.del)) return undefined;
    for (const name of rec.del) {
      if (typeof name !== 'string') return undefined;
      entries.delete(name);
    }
    for (const [name, owner] of Object.entries(rec.set)) entries.set(name, owner);
  }
  if (!entries || !stamp) return undefined;
  return { stamp, entries, records: lines.length - 1 };
}

/** Read every reservation file of the directory: name → trimmed content. */
export function scanDirectory(dir: string): Map<string, string> {
  const entries = new Map<string, string>();
  for (const d of readdirSync(dir, { withFileTypes: true })) {
    if (!d.isFile() || isStateFile(d.name)) continue;
    try {
      entries.set(d.name, readFileSync(join(dir, d.name), 'utf8').trim());
    } catch {
      // vanished or unreadable: the reference skips such files too
    }
  }
  return entries;
}

/**
 * The reservations of one network directory. Use only while holding the directory's flock:
 * load() first, then note changes with set()/delete(), then commit().
 */
export class DirIndex {
  /** reservation file name → trimmed content ("<id>\r\n<ifname>", or "<id>" for legacy files); read-only outside this class */
  entries = new Map<string, string>();
  /** owner → reservation file names: the reverse of entries, so lookups by owner are O(1) */
  private owners = new Map<string, Set<string>>();
  /** where the entries came from on the last load */
  source: IndexSource = 'rebuilt';
  /** changes since load: name → new owner, or null when removed */
  private readonly pending = new Map<string, string | null>();
  /** the directory changed (a state file) without any reservation changing: commit restamps it */
  private touched = false;
  /** the index file as loaded (identity and record count) when a delta may be appended to it */
  private appendable: { fileKey: string; records: number } | undefined;
  /** the entries came from a scan: the whole index must be written even with no change */
  private scanned = false;
  /** the directory's identity as of load() (dirIdentity) */
  identity = '';
  private readonly path: string;

  constructor(readonly dir: string) {
    this.path = join(dir, INDEX_FILE);
  }

  /** Load and validate the index; rebuild it from the directory if it cannot be trusted. */
  load(forceRebuild = false): void {
    const st = statSync(this.dir, { bigint: true });
    const stamp = stampOf(st);
    this.identity = dirIdentity(st);
    const found = forceRebuild ? undefined : this.tryLoad(stamp);
    this.pending.clear();
    this.touched = false;
    if (found) {
      this.entries = found.cached.entries;
      this.owners = found.cached.owners;
      this.source = found.source;
      this.appendable = { fileKey: found.cached.fileKey, records: found.cached.records };
      this.scanned = false;
      return;
    }
    memory.delete(this.identity);
    this.entries = scanDirectory(this.dir);
    this.owners = ownersOf(this.entries);
    this.source = 'rebuilt';
    this.appendable = undefined;
    this.scanned = true;
  }

  private tryLoad(stamp: DirStamp): { cached: Cached; source: IndexSource } | undefined {
    let fd: number;
    try {
      fd = openSync(this.path, constants.O_RDONLY | constants.O_NOFOLLOW);
    } catch {
      return undefined;
    }
    try {
      const st = fstatSync(fd, { bigint: true });
      if (!st.isFile()) return undefined;
      // Racily clean: the index is not strictly newer than the directory state it records.
      if (st.mtimeNs <= BigInt(stamp.mtimeNs)) return undefined;
      const fileKey = keyOf(st);
      const cached = memory.get(this.identity);
      if (cached && cached.fileKey === fileKey && sameStamp(cached.stamp, stamp)) return { cached, source: 'memory' };
      const parsed = parseIndex(readAll(fd, Number(st.size)));
      if (!parsed || !sameStamp(parsed.stamp, stamp)) return undefined;
      const fresh: Cached = { stamp, fileKey, records: parsed.records, entries: parsed.entries, owners: ownersOf(parsed.entries) };
      memory.set(this.identity, fresh);
      return { cached: fresh, source: 'file' };
    } finally {
      closeSync(fd);
    }
  }

  /** The file names whose owner is exactly `owner` (do not modify; copy before changing the index). */
  namesOf(owner: string): ReadonlySet<string> | undefined {
    return this.owners.get(owner);
  }

  private unlinkOwner(owner: string, name: string): void {
    const names = this.owners.get(owner);
    if (!names) return;
    names.delete(name);
    if (names.size === 0) this.owners.delete(owner);
  }

  /** Record a reservation file we created (or found). */
  set(name: string, owner: string): void {
    const prev = this.entries.get(name);
    if (prev === owner && !this.pending.has(name)) return;
    if (prev !== undefined) this.unlinkOwner(prev, name);
    this.entries.set(name, owner);
    const names = this.owners.get(owner);
    if (names) names.add(name);
    else this.owners.set(owner, new Set([name]));
    this.pending.set(name, owner);
  }

  /** Forget a reservation file we removed (or found gone). */
  delete(name: string): void {
    const prev = this.entries.get(name);
    if (prev === undefined) return;
    this.entries.delete(name);
    this.unlinkOwner(prev, name);
    this.pending.set(name, null);
  }

  /** We changed the directory without changing a reservation (made a state file): commit records its new stamp. */
  touch(): void {
    this.touched = true;
  }

  /** Whether a full snapshot must be written rather than a delta appended. */
  private needsSnapshot(): boolean {
    return this.appendable === undefined || this.appendable.records > 2 * this.entries.size + COMPACT_SLACK;
  }

  /** Record the changes (or, after a rebuild, the whole index), stamped with the directory's state after them. */
  commit(): void {
    if (this.pending.size === 0 && !this.scanned && !this.touched) return;
    try {
      this.write();
    } catch (e) {
      // The file may or may not hold the change: trust neither it nor our copy.
      memory.delete(this.identity);
      throw e;
    } finally {
      this.pending.clear();
      this.touched = false;
    }
  }

  private write(): void {
    // Create the file first: creating it changes the directory, which the stamp must include.
    const fd = openSync(this.path, constants.O_RDWR | constants.O_CREAT | constants.O_NOFOLLOW, 0o600);
    try {
      const stamp = stampOf(statSync(this.dir, { bigint: true }));
      let st = fstatSync(fd, { bigint: true });
      const append = !this.needsSnapshot() && this.appendable!.fileKey === keyOf(st);
      let text: string;
      let at: number;
      let records: number;
      if (append) {
        const set: Record<string, string> = {};
        const del: string[] = [];
        for (const [name, owner] of this.pending) {
          if (owner === null) del.push(name);
          else set[name] = owner;
        }
        text = record({ stamp, set, del });
        at = Number(st.size);
        records = this.appendable!.records + 1;
      } else {
        text = `${HEADER}\n${record({ stamp, entries: Object.fromEntries(this.entries) })}`;
        at = 0;
        records = 1;
      }
      const buf = Buffer.from(text, 'utf8');
      // A file not stat()ed since its last change gets a coarse timestamp, possibly equal to the
      // directory's; having just stat()ed it, a second write of the same bytes at the same place
      // gets a fine-grained, newer one.
      for (let attempt = 0; attempt < 2; attempt++) {
        let off = 0;
        while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off, at + off);
        if (!append) ftruncateSync(fd, buf.length);
        st = fstatSync(fd, { bigint: true });
        if (st.mtimeNs > BigInt(stamp.mtimeNs)) break;
      }
      const fileKey = keyOf(st);
      memory.set(this.identity, { stamp, fileKey, records, entries: this.entries, owners: this.owners });
      this.appendable = { fileKey, records };
      this.scanned = false;
    } finally {
      closeSync(fd);
    }
  }
}
