// The libcni equivalent: run a network list's plugins for ADD/CHECK/DEL/GC/STATUS with prevResult
// threading, capability args and the results cache; ADD/CHECK/DEL never overlap a GC.
import type { Attachment } from '../skel/types.js';
import { CniError, ErrorCode, toCniError } from '../spec/errors.js';
import { validateContainerId, validateInterfaceName, validateNetworkName } from '../spec/validate-names.js';
import { versionAtLeast } from '../spec/versions.js';
import { listNetworks, loadNetworkList, type LoadOptions } from './conf-load.js';
import { GcGate } from './gc-gate.js';
import { PluginRunner, type PluginCommand } from './invoke-plugin.js';
import { buildRequest } from './plugin-request.js';
import { parsePluginResult } from './result-json.js';
import { ResultsCache, type CacheKey } from './results-cache.js';
import type { CachedAttachment, NetworkList, NetworkListing, RuntimeConf, RuntimeOptions, VersionedResultJson } from './types.js';

type PluginObj = NetworkList['plugins'][number];

/** libcni's default config dir and cache root. */
export const DEFAULT_CONF_DIR = '/etc/cni/net.d';
export const DEFAULT_CACHE_DIR = '/var/lib/cni';
/** Per-call plugin deadline when none is given. */
export const DEFAULT_TIMEOUT_MS = 120_000;

/** libcni's pluginDescription: type="t", plus name="n" when the plugin object has a name. */
function describe(p: PluginObj): string {
  const name = typeof p.name === 'string' ? p.name : '';
  return `type=${JSON.stringify(p.type)}${name ? ` name=${JSON.stringify(name)}` : ''}`;
}

/** Wrap a plugin's error as libcni does (`plugin type="t" failed (add): …`), keeping its code and details. */
function pluginError(p: PluginObj, verb: string, e: unknown): CniError {
  const err = toCniError(e);
  return new CniError(err.code, `plugin ${describe(p)} failed (${verb}): ${err.message}`, err.details, { cause: err });
}

/** version >= min, false for a version that does not parse (libcni ignores that error for GC/STATUS). */
function atLeast(version: string, min: string): boolean {
  try {
    return versionAtLeast(version, min);
  } catch {
    return false;
  }
}

/** One runtime: a config dir, a plugin path, a cache root. Safe for concurrent calls on different attachments. */
export class CniRuntime {
  readonly confDir: string;
  readonly cacheDir: string;
  private readonly runner: PluginRunner;
  private readonly cache: ResultsCache;
  private readonly gate: GcGate;

  constructor(readonly options: RuntimeOptions) {
    // An exec'd plugin runs where the caller runs: a host namespace it would silently ignore is a mistake.
    if (options.hostNetns !== undefined && (!options.loadPlugin || options.inProcess === false)) {
      throw new TypeError("CniRuntime: hostNetns applies to plugins run in-process only: pass loadPlugin (from 'fastcni')");
    }
    this.confDir = options.confDir ?? DEFAULT_CONF_DIR;
    this.cacheDir = options.cacheDir ?? DEFAULT_CACHE_DIR;
    this.runner = new PluginRunner({ ...options, timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS });
    this.cache = new ResultsCache(this.cacheDir);
    this.gate = new GcGate(this.cacheDir);
  }

  /** The network list named `name` in the config dir, as libcni's LoadNetworkConf finds it (broken files skipped). */
  loadNetworkList(name: string, opts?: LoadOptions): Promise<NetworkList> {
    return loadNetworkList(this.confDir, name, opts);
  }

  /** Every network of the config dir plus the files that failed to load. */
  listNetworks(): Promise<NetworkListing> {
    return listNetworks(this.confDir);
  }

  /** Cached attachments (libcni GetCachedAttachments), all or one container's; none when there is no cache yet. */
  async getCachedAttachments(containerId = ''): Promise<CachedAttachment[]> {
    try {
      return await this.cache.list(containerId);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw e;
    }
  }

  /** The cached final ADD result of an attachment, converted to the list's version (libcni GetNetworkListCachedResult). */
  getCachedResult(list: NetworkList, rt: RuntimeConf): Promise<VersionedResultJson | undefined> {
    return this.cache.result(this.key(list, rt), list.cniVersion);
  }

  /** The config bytes an attachment was added with and rt with its cached CNI_ARGS and capability args (libcni GetNetworkListCachedConfig). */
  async getCachedConfig(list: NetworkList, rt: RuntimeConf): Promise<{ config: Buffer; rt: RuntimeConf } | undefined> {
    const d = await this.cache.read(this.key(list, rt));
    if (!d) return undefined;
    if (d.kind !== 'v1')
      throw new CniError(ErrorCode.DecodingFailure, `read cached network ${JSON.stringify(list.name)} config has wrong kind`);
    const a = d.attachment;
    const { capabilityArgs: _drop, ...base } = rt;
    return {
      config: a.config,
      rt: { ...base, ...(a.cniArgs ? { args: a.cniArgs } : {}), ...(a.capabilityArgs ? { capabilityArgs: a.capabilityArgs } : {}) },
    };
  }

  /**
   * ADD: every plugin in order, each given the previous one's result (in the version it returned);
   * the last result is cached and returned. The first failure aborts (no automatic DEL — call DEL).
   */
  async addNetworkList(list: NetworkList, rt: RuntimeConf): Promise<VersionedResultJson> {
    this.validate(list, rt);
    return this.gate.shared(async () => {
      let prev: VersionedResultJson | undefined;
      for (const p of list.plugins) {
        try {
          const stdout = await this.call(list, p, 'ADD', rt, prev);
          prev = parsePluginResult(stdout, list.cniVersion, p.type);
        } catch (e) {
          throw pluginError(p, 'add', e);
        }
      }
      const result = prev ?? { cniVersion: list.cniVersion };
      try {
        await this.cache.write({ ...this.key(list, rt), ...cacheParts(rt), config: list.bytes, result });
      } catch (e) {
        throw new CniError(
          ErrorCode.IoFailure,
          `failed to set network ${JSON.stringify(list.name)} cached result: ${(e as Error).message}`,
          undefined,
          { cause: e },
        );
      }
      return result;
    });
  }

  /** CHECK: refused below 0.4.0, skipped with disableCheck; every plugin in order with the cached result. */
  async checkNetworkList(list: NetworkList, rt: RuntimeConf): Promise<void> {
    if (!versionAtLeast(list.cniVersion, '0.4.0')) {
      throw new CniError(
        ErrorCode.IncompatibleVersion,
        `configuration version ${JSON.stringify(list.cniVersion)} does not support the CHECK command`,
      );
    }
    if (list.disableCheck) return;
    this.validate(list, rt);
    await this.gate.shared(async () => {
      let cached: VersionedResultJson | undefined;
      try {
        cached = await this.cache.result(this.key(list, rt), list.cniVersion);
      } catch (e) {
        const err = toCniError(e);
        throw new CniError(err.code, `failed to get network ${JSON.stringify(list.name)} cached result: ${err.message}`, err.details, {
          cause: e,
        });
      }
      for (const p of list.plugins) {
        try {
          await this.call(list, p, 'CHECK', rt, cached);
        } catch (e) {
          throw pluginError(p, 'check', e);
        }
      }
    });
  }

  /**
   * DEL: every plugin in reverse order, each with the cached final result (≥ 0.4.0). A corrupt cache
   * file is deleted and DEL goes on without prevResult; the cache is removed once all succeeded.
   */
  async delNetworkList(list: NetworkList, rt: RuntimeConf): Promise<void> {
    this.validate(list, rt);
    await this.gate.shared(() => this.del(list, rt));
  }

  /**
   * GC (libcni GCNetworkList): DEL every cached attachment of this network not in `valid` (undefined =
   * none is valid), then, for lists ≥ 1.1.0, GC on every plugin with the valid attachments. Errors are
   * collected and thrown together; disableGC makes it a no-op. Runs alone (no ADD/CHECK/DEL meanwhile).
   */
  async gcNetworkList(list: NetworkList, valid?: Attachment[]): Promise<void> {
    if (list.disableGC) return;
    await this.gate.exclusive(async () => {
      const errors: CniError[] = [];
      const keep = valid && new Set(valid.map((a) => `${a.containerID}\0${a.ifname}`));
      for (const a of await this.getCachedAttachments()) {
        if (a.networkName !== list.name) continue;
        if (keep?.has(`${a.containerId}\0${a.ifname}`)) continue;
        const rt: RuntimeConf = {
          containerId: a.containerId,
          netns: a.netns ?? '',
          ifname: a.ifname,
          ...(a.cniArgs ? { args: a.cniArgs } : {}),
          ...(a.capabilityArgs ? { capabilityArgs: a.capabilityArgs } : {}),
        };
        try {
          this.validate(list, rt);
          await this.del(list, rt);
        } catch (e) {
          const err = toCniError(e);
          errors.push(
            new CniError(err.code, `failed to delete stale attachment ${a.containerId} ${a.ifname}: ${err.message}`, err.details, {
              cause: e,
            }),
          );
        }
      }
      // An unreadable file names no attachment to DEL: the plugins' GC below reclaims what it held.
      const validFiles = new Set(
        valid?.map((a) => this.cache.file({ networkName: list.name, containerId: a.containerID, ifname: a.ifname })),
      );
      for (const file of await this.cache.unreadable(list.name)) {
        if (validFiles.has(file)) continue;
        this.warn(`${file} is not a cache file: removed`);
        await this.cache.removeFile(file);
      }
      if (atLeast(list.cniVersion, '1.1.0')) {
        for (const p of list.plugins) {
          try {
            const stdin = buildRequest(p, { name: list.name, cniVersion: list.cniVersion, ...(valid ? { validAttachments: valid } : {}) });
            await this.runner.run({ type: p.type, command: 'GC', stdin });
          } catch (e) {
            const err = toCniError(e);
            errors.push(new CniError(err.code, `failed to GC plugin ${p.type}: ${err.message}`, err.details, { cause: e }));
          }
        }
      }
      if (errors.length === 1) throw errors[0]!;
      if (errors.length > 1) {
        throw new CniError(errors[0]!.code, errors.map((e) => e.message).join('\n'), undefined, { cause: new AggregateError(errors) });
      }
    });
  }

  /** STATUS (lists ≥ 1.1.0; older ones succeed without a call): every plugin in order, the first error thrown unchanged. */
  async statusNetworkList(list: NetworkList): Promise<void> {
    if (!atLeast(list.cniVersion, '1.1.0')) return;
    for (const p of list.plugins) {
      const stdin = buildRequest(p, { name: list.name, cniVersion: list.cniVersion });
      await this.runner.run({ type: p.type, command: 'STATUS', stdin });
    }
  }

  /** A warning line where plugins' stderr goes. */
  private warn(line: string): void {
    const text = `fastcni: warning: ${line}\n`;
    if (this.options.stderr) this.options.stderr(text);
    else process.stderr.write(text);
  }

  private async del(list: NetworkList, rt: RuntimeConf): Promise<void> {
    const key = this.key(list, rt);
    let cached: VersionedResultJson | undefined;
    if (versionAtLeast(list.cniVersion, '0.4.0')) {
      try {
        cached = await this.cache.result(key, list.cniVersion);
      } catch (e) {
        // An unreadable cache must not block DEL (libcni since https://github.com/containernetworking/cni/pull/1072).
        this.warn(`${this.cache.file(key)}: ${toCniError(e).message}: removed, DEL goes on without prevResult`);
        await this.cache.remove(key);
        cached = undefined;
      }
    }
    for (const p of [...list.plugins].reverse()) {
      try {
        await this.call(list, p, 'DEL', rt, cached);
      } catch (e) {
        throw pluginError(p, 'delete', e);
      }
    }
    await this.cache.remove(key);
  }

  private call(
    list: NetworkList,
    p: PluginObj,
    command: PluginCommand,
    rt: RuntimeConf,
    prevResult: VersionedResultJson | undefined,
  ): Promise<string> {
    const stdin = buildRequest(p, {
      name: list.name,
      cniVersion: list.cniVersion,
      ...(prevResult ? { prevResult } : {}),
      ...(rt.capabilityArgs ? { capabilityArgs: rt.capabilityArgs } : {}),
    });
    return this.runner.run({
      type: p.type,
      command,
      stdin,
      containerId: rt.containerId,
      netns: rt.netns,
      ifname: rt.ifname,
      ...(rt.args ? { args: rt.args } : {}),
    });
  }

  private key(list: NetworkList, rt: RuntimeConf): CacheKey {
    return { networkName: list.name, containerId: rt.containerId, ifname: rt.ifname };
  }

  /** The runtime's own checks before any plugin runs (codes as the reference's pkg/utils). */
  private validate(list: NetworkList, rt: RuntimeConf): void {
    validateContainerId(rt.containerId);
    validateNetworkName(list.name);
    validateInterfaceName(rt.ifname);
    // the cache file's name (all three joined) must fit too, before a plugin changes anything
    this.cache.file(this.key(list, rt));
  }
}

function cacheParts(rt: RuntimeConf): Pick<CachedAttachment, 'netns' | 'cniArgs' | 'capabilityArgs'> {
  return {
    ...(rt.netns ? { netns: rt.netns } : {}),
    ...(rt.args?.length ? { cniArgs: rt.args } : {}),
    ...(rt.capabilityArgs && Object.keys(rt.capabilityArgs).length ? { capabilityArgs: rt.capabilityArgs } : {}),
  };
}
