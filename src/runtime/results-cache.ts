// libcni's results cache: <cacheDir>/results/<network>-<containerID>-<ifname>, kind cniCacheV1, the
// same bytes libcni writes — but written atomically (temp file + rename) where libcni writes in place.
import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, rm } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { CniError, ErrorCode } from '../spec/errors.js';
import { fileIn } from '../spec/file-name.js';
import { goStringify, sortKeysDeep } from '../spec/go-json.js';
import { normaliseResult } from './result-json.js';
import type { CachedAttachment, VersionedResultJson } from './types.js';

/** The `kind` of every cache file libcni writes since v0.8. */
export const CACHE_KIND = 'cniCacheV1';

/** The key of one attachment in the cache. */
export interface CacheKey {
  networkName: string;
  containerId: string;
  ifname: string;
}

/** The file content exactly as libcni marshals its cachedInfo struct (field order, omitempty, maps sorted). */
export function encodeCache(a: CachedAttachment): string {
  const o: Record<string, unknown> = {
    kind: CACHE_KIND,
    containerId: a.containerId,
    config: a.config.toString('base64'),
    ifName: a.ifname,
    networkName: a.networkName,
  };
  if (a.netns) o.netns = a.netns;
  if (a.cniArgs?.length) o.cniArgs = a.cniArgs.map(([k, v]) => [k, v]);
  if (a.capabilityArgs && Object.keys(a.capabilityArgs).length) o.capabilityArgs = sortKeysDeep(a.capabilityArgs);
  if (a.result) o.result = sortKeysDeep(a.result);
  return goStringify(o, false);
}

type Decoded = { kind: 'v1'; attachment: CachedAttachment } | { kind: 'legacy'; raw: unknown } | { kind: 'invalid'; error: Error };

/** Read a cache file's bytes as libcni does: cniCacheV1, else a legacy raw result, else invalid. */
export function decodeCache(bytes: Buffer): Decoded {
  let raw: unknown;
  try {
    raw = JSON.parse(bytes.toString('utf8')) as unknown;
  } catch (e) {
    return { kind: 'invalid', error: e as Error };
  }
  const o = raw !== null && typeof raw === 'object' && !Array.isArray(raw) ? (raw as Record<string, unknown>) : undefined;
  if (!o || o.kind !== CACHE_KIND) return { kind: 'legacy', raw };
  const str = (v: unknown): string => (typeof v === 'string' ? v : '');
  const cniArgs = Array.isArray(o.cniArgs)
    ? (o.cniArgs as unknown[]).filter(
        (p): p is [string, string] => Array.isArray(p) && p.length === 2 && p.every((x) => typeof x === 'string'),
      )
    : undefined;
  const isObj = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
  return {
    kind: 'v1',
    attachment: {
      containerId: str(o.containerId),
      ifname: str(o.ifName),
      networkName: str(o.networkName),
      config: Buffer.from(str(o.config), 'base64'),
      ...(str(o.netns) ? { netns: str(o.netns) } : {}),
      ...(cniArgs?.length ? { cniArgs } : {}),
      ...(isObj(o.capabilityArgs) ? { capabilityArgs: o.capabilityArgs } : {}),
      ...(isObj(o.result) ? { result: o.result } : {}),
    },
  };
}

/** The results cache under one cache root. */
export class ResultsCache {
  readonly resultsDir: string;
  private readonly tmpDir: string;

  /** @param cacheDir libcni's CacheDir (default /var/lib/cni) */
  constructor(readonly cacheDir: string) {
    this.resultsDir = join(cacheDir, 'results');
    // Temp files live outside results/, which libcni's GetCachedAttachments reads whole.
    this.tmpDir = join(cacheDir, 'results.tmp');
  }

  /** The file of an attachment (libcni getCacheFilePath, with its error when a part is empty). */
  file(k: CacheKey): string {
    if (k.networkName === '' || k.containerId === '' || k.ifname === '') {
      throw new CniError(
        ErrorCode.Internal,
        `cache file path requires network name (${JSON.stringify(k.networkName)}), container ID (${JSON.stringify(k.containerId)}), and interface name (${JSON.stringify(k.ifname)})`,
      );
    }
    return fileIn(this.resultsDir, `${k.networkName}-${k.containerId}-${k.ifname}`, 'network name, container ID and interface name');
  }

  /** Write an attachment's cache file atomically (dirs 0700, file 0600, fsync'd before the rename). */
  async write(a: CachedAttachment): Promise<void> {
    const target = this.file({ networkName: a.networkName, containerId: a.containerId, ifname: a.ifname });
    await mkdir(this.resultsDir, { recursive: true, mode: 0o700 });
    await mkdir(this.tmpDir, { recursive: true, mode: 0o700 });
    const tmp = join(this.tmpDir, `${basename(target)}.${process.pid}.${randomBytes(4).toString('hex')}`);
    const fh = await open(tmp, 'w', 0o600);
    try {
      await fh.writeFile(encodeCache(a));
      await fh.sync();
    } finally {
      await fh.close();
    }
    try {
      await rename(tmp, target);
    } catch (e) {
      await rm(tmp, { force: true });
      throw e;
    }
  }

  /** The decoded file of an attachment; undefined when there is none (or it cannot be read, as libcni ignores read errors). */
  async read(k: CacheKey): Promise<Decoded | undefined> {
    let bytes: Buffer;
    try {
      bytes = await readFile(this.file(k));
    } catch {
      return undefined;
    }
    return decodeCache(bytes);
  }

  /**
   * libcni's getCachedResult: the cached final ADD result converted to `version`; undefined when
   * there is no file (or a cniCacheV1 file without result). Throws when the file is invalid or the
   * result cannot be converted.
   */
  async result(k: CacheKey, version: string): Promise<VersionedResultJson | undefined> {
    const d = await this.read(k);
    if (!d) return undefined;
    if (d.kind === 'invalid') {
      throw new CniError(
        ErrorCode.DecodingFailure,
        `failed to read cached network ${JSON.stringify(k.networkName)} result: ${d.error.message}`,
        undefined,
        { cause: d.error },
      );
    }
    const raw = d.kind === 'v1' ? d.attachment.result : d.raw;
    if (raw === undefined) return undefined;
    // A result without cniVersion reads as 0.1.0 (libcni's create.CreateFromBytes).
    return normaliseResult(raw, '0.1.0', version, `cached network ${JSON.stringify(k.networkName)} result`);
  }

  /** Remove an attachment's file; a missing file is fine. */
  async remove(k: CacheKey): Promise<void> {
    await rm(this.file(k), { force: true });
  }

  /** Remove a file of results/ by its path (one `file` or `unreadable` gave); a missing file is fine. */
  async removeFile(path: string): Promise<void> {
    await rm(path, { force: true });
  }

  /**
   * Files of results/ of `networkName` that are not JSON (a torn write: libcni writes in place).
   * A name `<net>-<containerID>-<ifname>` does not say where the network's name ends, so a file that
   * also fits a longer network with a readable file in results/ (`<net>-x`'s `<net>-x-<id>-<if>`) is
   * that network's, not this one's; nor is a file with no `<containerID>-<ifname>` after the prefix.
   */
  async unreadable(networkName: string): Promise<string[]> {
    let names: string[];
    try {
      names = await readdir(this.resultsDir);
    } catch {
      return [];
    }
    const prefix = `${networkName}-`;
    const torn: string[] = [];
    const longer = new Set<string>();
    for (const name of names.sort()) {
      if (!name.startsWith(prefix)) continue;
      const path = join(this.resultsDir, name);
      const bytes = await readFile(path).catch(() => undefined);
      if (!bytes) continue;
      const d = decodeCache(bytes);
      if (d.kind === 'invalid') torn.push(name);
      else if (d.kind === 'v1' && d.attachment.networkName.startsWith(prefix)) longer.add(`${d.attachment.networkName}-`);
    }
    return torn
      .filter((name) => /.-./.test(name.slice(prefix.length)) && ![...longer].some((p) => name.startsWith(p)))
      .map((name) => join(this.resultsDir, name));
  }

  /**
   * libcni's GetCachedAttachments: every cniCacheV1 file of results/ (sorted by name) with a
   * network and ifname, optionally only those of one container. Throws when results/ cannot be read.
   */
  async list(containerId = ''): Promise<CachedAttachment[]> {
    const names = (await readdir(this.resultsDir)).sort();
    const out: CachedAttachment[] = [];
    for (const name of names) {
      if (containerId !== '') {
        const part = `-${containerId}-`;
        const pos = name.indexOf(part);
        if (pos <= 0 || pos + part.length >= name.length) continue;
      }
      let bytes: Buffer;
      try {
        bytes = await readFile(join(this.resultsDir, name));
      } catch {
        continue;
      }
      const d = decodeCache(bytes);
      if (d.kind !== 'v1') continue;
      const a = d.attachment;
      if (containerId !== '' && a.containerId !== containerId) continue;
      if (a.ifname === '' || a.networkName === '') continue;
      out.push(a);
    }
    return out;
  }
}
