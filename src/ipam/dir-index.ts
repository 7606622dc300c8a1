// The index of a host-local network directory (`.fastcni-index`): which address files exist and
// whom they belong to, so that an ADD or DEL does not read every file as the reference does.
//
// Why a stat check is enough to trust it: every writer of the directory — us and the reference
// host-local — creates or removes files only while holding the flock on `lock`, and we rewrite the
// index (in place, so the directory itself is not touched) under that same flock after our own
// change, recording the directory's dev/ino/mtime/ctime as they are after it. Any later create,
// unlink or rename in the directory changes its mtime and ctime, and because we stat()ed the
// directory after our change, the kernel's multigrain timestamps (Linux ≥ 6.13 on ext4, xfs,
// btrfs, tmpfs) hand out a fine-grained, strictly newer timestamp for that next change. So "stat
// unchanged" means "no foreign change". On kernels or file systems with coarse timestamps only, a
// foreign change in the same clock tick as our stat could keep the time equal; we then treat the
// index as racily clean (as git does) whenever the index file is not strictly newer than the
// directory time it records, and rebuild. A stale, racy, unreadable, partial or corrupt index is
// rebuilt by a full scan (the reference's cost, paid once after a foreign change). An incremental
// rescan would have to notice a file removed and re-created under the same name by another owner,
// which readdir alone cannot.
import { closeSync, fstatSync, ftruncateSync, openSync, readdirSync, readFileSync, readSync, writeSync, statSync, constants } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';

/** File name of the index inside the network directory. */
export const INDEX_FILE = '.fastcni-index';
const HEADER = 'fastcni-index 1';

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
  entries: Map<string, string>;
}

// Long-lived processes (the agent) keep the parsed index per directory; disk stays the truth.
const memory = new Map<string, Cached>();

/** Forget the in-memory copies of indexes (the index files stay and are read again). */
export function dropIndexCache(): void {
  memory.clear();
}

/** Files of the directory that are not reservations. */
export function isStateFile(name: string): boolean {
  return name === 'lock' || name.startsWith('last_reserved_ip.') || name.startsWith(INDEX_FILE);
}

function stampOf(dir: string): DirStamp {
  const s = statSync(dir, { bigint: true });
  return { dev: String(s.dev), ino: String(s.ino), mtimeNs: String(s.mtimeNs), ctimeNs: String(s.ctimeNs) };
}

function sameStamp(a: DirStamp, b: DirStamp): boolean {
  return a.dev === b.dev && a.ino === b.ino && a.mtimeNs === b.mtimeNs && a.ctimeNs === b.ctimeNs;
}

function checksum(body: string): string {
  return createHash('sha256').update(body).digest('hex');
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

/** Parse an index file's text; undefined when it is partial, corrupt or of another format. */
function parseIndex(text: string): { stamp: DirStamp; entries: Map<string, string> } | undefined {
  const nl = text.indexOf('\n');
  if (nl < 0) return undefined;
  const [header, sum] = [text.slice(0, nl).split(' ').slice(0, 2).join(' '), text.slice(0, nl).split(' ')[2]];
  const body = text.slice(nl + 1);
  if (header !== HEADER || !sum || checksum(body) !== sum) return undefined;
  try {
    const parsed = JSON.parse(body) as { stamp?: DirStamp; entries?: Record<string, string> };
    if (!parsed.stamp || typeof parsed.entries !== 'object' || parsed.entries === null) return undefined;
    return { stamp: parsed.stamp, entries: new Map(Object.entries(parsed.entries)) };
  } catch {
    return undefined;
  }
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
  /** reservation file name → trimmed content ("<id>\r\n<ifname>", or "<id>" for legacy files) */
  entries = new Map<string, string>();
  /** where the entries came from on the last load */
  source: IndexSource = 'rebuilt';
  private dirty = false;
  private readonly path: string;

  constructor(readonly dir: string) {
    this.path = join(dir, INDEX_FILE);
  }

  /** Load and validate the index; rebuild it from the directory if it cannot be trusted. */
  load(forceRebuild = false): void {
    const stamp = stampOf(this.dir);
    const found = forceRebuild ? undefined : this.tryLoad(stamp);
    if (found) {
      this.entries = found.entries;
      this.source = found.source;
      this.dirty = false;
      return;
    }
    this.entries = scanDirectory(this.dir);
    this.source = 'rebuilt';
    this.dirty = true;
  }

  private tryLoad(stamp: DirStamp): { entries: Map<string, string>; source: IndexSource } | undefined {
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
      const fileKey = `${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
      const cached = memory.get(this.dir);
      if (cached && cached.fileKey === fileKey && sameStamp(cached.stamp, stamp)) {
        return { entries: new Map(cached.entries), source: 'memory' };
      }
      const parsed = parseIndex(readAll(fd, Number(st.size)));
      if (!parsed || !sameStamp(parsed.stamp, stamp)) return undefined;
      memory.set(this.dir, { stamp, fileKey, entries: parsed.entries });
      return { entries: new Map(parsed.entries), source: 'file' };
    } finally {
      closeSync(fd);
    }
  }

  /** Record a reservation file we created (or found). */
  set(name: string, owner: string): void {
    this.entries.set(name, owner);
    this.dirty = true;
  }

  /** Forget a reservation file we removed (or found gone). */
  delete(name: string): void {
    if (this.entries.delete(name)) this.dirty = true;
  }

  /** Write the index if anything changed, stamped with the directory's state after our changes. */
  commit(): void {
    if (!this.dirty) return;
    // Create the file first: creating it changes the directory, which the stamp must include.
    const fd = openSync(this.path, constants.O_RDWR | constants.O_CREAT | constants.O_NOFOLLOW, 0o600);
    try {
      const stamp = stampOf(this.dir);
      const body = JSON.stringify({ stamp, entries: Object.fromEntries(this.entries) });
      const text = `${HEADER} ${checksum(body)}\n${body}`;
      const buf = Buffer.from(text, 'utf8');
      let st = fstatSync(fd, { bigint: true });
      // A file not stat()ed since its last change gets a coarse timestamp, possibly equal to the
      // directory's; having just stat()ed it, a second write gets a fine-grained, newer one.
      for (let attempt = 0; attempt < 2; attempt++) {
        let off = 0;
        while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off, off);
        ftruncateSync(fd, buf.length);
        st = fstatSync(fd, { bigint: true });
        if (st.mtimeNs > BigInt(stamp.mtimeNs)) break;
      }
      memory.set(this.dir, { stamp, fileKey: `${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`, entries: new Map(this.entries) });
      this.dirty = false;
    } finally {
      closeSync(fd);
    }
  }
}
