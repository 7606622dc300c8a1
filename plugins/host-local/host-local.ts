// host-local: hands out addresses from configured ranges and records them as files in
// <dataDir>/<network>/, sharing that directory safely with the reference plugin.
import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { CniError, ErrorCode } from '../../src/spec/errors.js';
import { parseCniArgs } from '../../src/spec/cni-args.js';
import type { PluginContext, PluginDefinition } from '../../src/skel/types.js';
import type { Result } from '../../src/spec/result.js';
import { DiskStore } from '../../src/ipam/store.js';
import { allocate, hasFreeAddress, release, type Allocation } from '../../src/ipam/allocator.js';
import { formatCidr, formatIp, parseIp, type Ip } from '../../src/net/ip.js';
import { rangeContains, rangeSetString } from '../../src/ipam/ranges.js';
import { hostLocalConfigSchema, type HostLocalConfig } from './config.js';
import { parseResolvConf } from './dns.js';

function internal(msg: string, cause?: unknown): CniError {
  return new CniError(ErrorCode.Internal, msg, undefined, cause === undefined ? undefined : { cause });
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** CNI_ARGS as the reference's IPAMEnvArgs reads them: IP (with or without a prefix) and IgnoreUnknown. */
export function requestedFromArgs(rawArgs: string | undefined): Ip | undefined {
  const { IP: text } = parseCniArgs(rawArgs, ['IP']);
  if (text === undefined || text === '') return undefined;
  const ip = parseIp(text.includes('/') ? text.slice(0, text.indexOf('/')) : text);
  if (!ip) throw new CniError(ErrorCode.InvalidEnvironment, `ARGS: error parsing value of pair "IP=${text}": invalid IP address ${text}`);
  return ip;
}

/** The network's directory under dataDir, reached as the caller means the path. */
function storeOf(config: HostLocalConfig, ctx: PluginContext): DiskStore {
  return new DiskStore(ctx.paths.local(config.dataDir), config.name, ctx.log);
}

/** Allocate one address per range set for the attachment; on any failure release what was taken. */
async function add(config: HostLocalConfig, ctx: PluginContext): Promise<Result> {
  const fromEnv = requestedFromArgs(ctx.env.CNI_ARGS);
  const requested = new Map<string, Ip>();
  for (const ip of fromEnv ? [fromEnv, ...config.requestedIps] : config.requestedIps) requested.set(formatIp(ip), ip);

  const dns = config.resolvConf ? parseResolvConf(ctx.paths.local(config.resolvConf)) : undefined;
  const store = storeOf(config, ctx);
  const allocations: Allocation[] = [];
  const releaseTaken = async (count: number): Promise<void> => {
    // As the reference: one release of the whole attachment per range set already allocated.
    for (let i = 0; i < count; i++) await release(store, ctx.containerId, ctx.ifname).catch(() => undefined);
  };
  for (const [idx, set] of config.ranges.entries()) {
    let want: Ip | undefined;
    for (const [key, ip] of requested) {
      if (set.some((r) => rangeContains(r, ip))) {
        want = ip;
        requested.delete(key);
        break;
      }
    }
    try {
      allocations.push(await allocate(store, set, idx, ctx.containerId, ctx.ifname, want));
    } catch (e) {
      await releaseTaken(allocations.length);
      throw internal(`failed to allocate for range ${idx}: ${message(e)}`, e);
    }
  }
  if (requested.size > 0) {
    await releaseTaken(allocations.length);
    throw internal(`failed to allocate all requested IPs: ${[...requested.keys()].join(' ')}`);
  }
  return {
    ips: allocations.map((a) => ({ address: formatCidr(a.ip, a.prefix), gateway: formatIp(a.gateway) })),
    ...(config.routes.length > 0 ? { routes: config.routes } : {}),
    ...(dns ? { dns } : {}),
  };
}

/** Release the attachment's addresses once per range set, collecting errors as the reference does. */
async function del(config: HostLocalConfig, ctx: PluginContext): Promise<void> {
  const store = storeOf(config, ctx);
  const errors: string[] = [];
  for (let i = 0; i < config.ranges.length; i++) {
    try {
      await release(store, ctx.containerId, ctx.ifname);
    } catch (e) {
      errors.push(message(e));
    }
  }
  if (errors.length > 0) throw internal(errors.join(';'));
}

/** Some address of the directory belongs to the attachment (or, failing that, to its container). */
async function check(config: HostLocalConfig, ctx: PluginContext): Promise<void> {
  const store = storeOf(config, ctx);
  const found = await store.transaction((tx) => tx.hasOwner(ctx.containerId, ctx.ifname));
  if (!found) throw internal(`host-local: Failed to find address added by container ${ctx.containerId}`);
}

/**
 * GC (CNI 1.1.0, not in the reference): release every reservation of the network whose attachment
 * is not in cni.dev/valid-attachments. The index is rebuilt from a full scan first.
 */
async function gc(config: HostLocalConfig, ctx: PluginContext): Promise<void> {
  const store = storeOf(config, ctx);
  // Without the list we cannot tell stale from live: release nothing rather than everything.
  if (!ctx.validAttachments) return ctx.log('host-local: GC without cni.dev/valid-attachments: nothing released');
  const valid = ctx.validAttachments;
  const released = await store.transaction((tx) => tx.releaseAllExcept(valid), { rebuildIndex: true });
  for (const name of released) ctx.log(`host-local: GC released ${name}`);
}

/**
 * Why nothing can be created at `path` (the network directory, or where mkdir -p would start making
 * it), as the kernel answers access(W_OK): for root only a read-only mount or an immutable directory
 * refuses, whatever the mode bits, and that is exactly when an ADD would fail. Undefined: writable.
 */
function writeProblem(path: string, ctx: PluginContext): string | undefined {
  for (let p = path; ; p = dirname(p)) {
    const local = ctx.paths.local(p);
    if (!existsSync(local) && p !== dirname(p)) continue;
    try {
      accessSync(local, constants.W_OK);
      return statSync(local).isDirectory() ? undefined : `${p} is not a directory`;
    } catch (e) {
      return `${p}: ${(e as NodeJS.ErrnoException).code ?? message(e)}`;
    }
  }
}

/**
 * STATUS (CNI 1.1.0; the reference host-local has none and always succeeds): not available (50)
 * when no ADD could succeed — the network directory cannot be written, or a range set has no free
 * address. An ADD takes one address from every range set, so one exhausted set is enough
 * (https://github.com/containernetworking/cni/blob/main/SPEC.md#status-check-plugin-status: "if
 * those resources are exhausted and no new ADD requests can be serviced"). Nothing is created: a
 * network directory not made yet has every address free.
 */
async function status(config: HostLocalConfig, ctx: PluginContext): Promise<void> {
  const dir = join(config.dataDir, config.name);
  const problem = writeProblem(dir, ctx);
  if (problem) throw new CniError(ErrorCode.PluginNotAvailable, `host-local: dataDir ${config.dataDir} is not writable: ${problem}`);
  if (!existsSync(ctx.paths.local(dir))) return;
  const full = await storeOf(config, ctx).transaction((tx) => config.ranges.findIndex((set) => !hasFreeAddress(tx, set)));
  if (full >= 0) {
    throw new CniError(
      ErrorCode.PluginNotAvailable,
      `host-local: range set ${full} is exhausted: no IP addresses available in range set: ${rangeSetString(config.ranges[full]!)}`,
    );
  }
}

/** The host-local plugin as handed to definePlugin. */
export const hostLocalDefinition: PluginDefinition<HostLocalConfig> = {
  name: 'host-local',
  about: 'fastcni host-local IPAM plugin',
  config: hostLocalConfigSchema,
  add,
  del,
  check,
  gc,
  status,
};
