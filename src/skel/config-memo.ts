// A small LRU of decoded and validated request configs, keyed by the exact stdin bytes, so that a
// long-lived process (the agent) pays for JSON decoding and zod validation once per distinct config.
import type { NetConf } from '../spec/net-conf.js';
import type { RequestConfig } from './read-config.js';

/** What one successful decode + validation produced. */
export interface MemoEntry<C> extends RequestConfig {
  /** the common fields as netConfSchema parsed them */
  common: NetConf;
  /** the plugin's validated config */
  config: C;
}

/** Configs larger than this are not kept (the key is the whole request). */
const MAX_KEY_BYTES = 64 * 1024;
const DEFAULT_CAPACITY = 32;

/**
 * LRU keyed by the request bytes. Only successful validations are stored; validation is a pure
 * function of the bytes, so a hit returns what a fresh parse would. The objects are shared between
 * requests: handlers must treat their config (and ctx.rawConfig) as read-only, which they do.
 * Known limit: a request that differs only in prevResult (a chained plugin) is a miss.
 */
export class ConfigMemo<C> {
  private readonly entries = new Map<string, MemoEntry<C>>();

  constructor(private readonly capacity = DEFAULT_CAPACITY) {}

  private static key(stdin: Uint8Array): string | undefined {
    if (stdin.byteLength > MAX_KEY_BYTES) return undefined;
    return Buffer.from(stdin.buffer, stdin.byteOffset, stdin.byteLength).toString('latin1');
  }

  /** The entry for these bytes, if validated before (and marks it most recently used). */
  get(stdin: Uint8Array): MemoEntry<C> | undefined {
    const key = ConfigMemo.key(stdin);
    if (key === undefined) return undefined;
    const hit = this.entries.get(key);
    if (hit) {
      this.entries.delete(key);
      this.entries.set(key, hit);
    }
    return hit;
  }

  /** Remember a successful validation, evicting the least recently used entry when full. */
  set(stdin: Uint8Array, entry: MemoEntry<C>): void {
    const key = ConfigMemo.key(stdin);
    if (key === undefined || this.capacity <= 0) return;
    this.entries.set(key, entry);
    if (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value!);
  }
}
