// Every fastcni command as a plain async function: inputs in, data out, errors thrown as CniError.
// The commander layer (fastcni.ts) only parses arguments and prints what these return.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadPlugin } from '../plugins.js';
import { agentStatus } from '../agent/status.js';
import type { AgentStatus } from '../agent/metrics.js';
import { CniRuntime } from '../runtime/cni-runtime.js';
import { findInPath } from '../runtime/plugin-lookup.js';
import { createNetns, deleteNetns, listNetns, netnsExists } from '../runtime/netns.js';
import type {
  Attachment,
  CachedAttachment,
  NetworkList,
  NetworkListing,
  RuntimeConf,
  RuntimeOptions,
  VersionedResultJson,
} from '../runtime/types.js';
import { CniError, ErrorCode, toCniError } from '../spec/errors.js';
import { ALL_VERSIONS } from '../spec/versions.js';
import { validateNetworkName } from '../spec/validate-names.js';
import { handBack, type HandedBack } from '../migration/reference.js';
import {
  parseValidAttachments,
  runtimeConf,
  runtimeOptions,
  type AttachmentOptions,
  type CliEnv,
  type GlobalOptions,
} from './invocation.js';

/** The runtime calls the CLI makes (src/runtime's CniRuntime). */
export interface RuntimeApi {
  loadNetworkList(name: string): Promise<NetworkList>;
  listNetworks(): Promise<NetworkListing>;
  addNetworkList(list: NetworkList, rt: RuntimeConf): Promise<VersionedResultJson | Record<string, unknown> | undefined>;
  checkNetworkList(list: NetworkList, rt: RuntimeConf): Promise<void>;
  delNetworkList(list: NetworkList, rt: RuntimeConf): Promise<void>;
  gcNetworkList(list: NetworkList, valid?: Attachment[]): Promise<unknown>;
  statusNetworkList(list: NetworkList): Promise<void>;
  getCachedAttachments(containerId?: string): Promise<CachedAttachment[]>;
}

/** What commands depend on besides their arguments: the environment and how to make a runtime. */
export interface CommandContext {
  env?: CliEnv;
  runtime?: (options: RuntimeOptions) => RuntimeApi | Promise<RuntimeApi>;
}

function defaultRuntime(options: RuntimeOptions): RuntimeApi {
  return new CniRuntime({ ...options, loadPlugin });
}

interface Prepared {
  env: CliEnv;
  options: RuntimeOptions;
  /** made only once the arguments are known to be valid */
  runtime(): Promise<RuntimeApi>;
}

function prepare(opts: GlobalOptions, ctx: CommandContext): Prepared {
  const env = ctx.env ?? process.env;
  const options: RuntimeOptions = { ...runtimeOptions(opts, env), env };
  return { env, options, runtime: async () => (ctx.runtime ?? defaultRuntime)(options) };
}

async function loadList(runtime: RuntimeApi, name: string): Promise<NetworkList> {
  validateNetworkName(name);
  return runtime.loadNetworkList(name);
}

/**
 * Every plugin and IPAM type of the list must be found in CNI_PATH before ADD starts, so a missing
 * binary fails the call before any plugin has created anything (libcni's FindInPath and its message).
 */
export async function checkPluginsPresent(list: NetworkList, pluginPath: readonly string[]): Promise<void> {
  for (const plugin of list.plugins) {
    const ipam = plugin.ipam as { type?: unknown } | undefined;
    const types = [plugin.type, ...(typeof ipam?.type === 'string' && ipam.type !== '' ? [ipam.type] : [])];
    for (const type of types) await findInPath(type, pluginPath);
  }
}

async function requireNetns(path: string): Promise<void> {
  if (!(await netnsExists(path))) {
    throw new CniError(ErrorCode.InvalidEnvironment, `network namespace ${path} does not exist`, 'create it with `fastcni netns add NAME`');
  }
}

/** The outcome of add: what was attached and the final result as the last plugin returned it. */
export interface AddOutcome {
  network: string;
  cniVersion: string;
  conf: RuntimeConf;
  result: Record<string, unknown>;
}

/**
 * ADD one network to a namespace. Inputs are validated and every plugin binary looked up first.
 * When a plugin fails, the attachment is deleted again (as a runtime does after a failed ADD) unless
 * one with the same ID and ifname was already cached: an earlier good attachment is never undone.
 */
export async function addCommand(
  network: string,
  netns: string,
  opts: GlobalOptions & AttachmentOptions = {},
  ctx: CommandContext = {},
): Promise<AddOutcome> {
  const { env, options, runtime: make } = prepare(opts, ctx);
  const conf = runtimeConf(netns, opts, env);
  const runtime = await make();
  const list = await loadList(runtime, network);
  await checkPluginsPresent(list, options.pluginPath);
  await requireNetns(conf.netns);
  const existed = (await runtime.getCachedAttachments(conf.containerId)).some(
    (a) => a.networkName === list.name && a.ifname === conf.ifname,
  );
  try {
    const result = (await runtime.addNetworkList(list, conf)) ?? {};
    const cniVersion = typeof result.cniVersion === 'string' && result.cniVersion !== '' ? result.cniVersion : list.cniVersion;
    return { network: list.name, cniVersion, conf, result };
  } catch (e) {
    const err = toCniError(e);
    if (!existed) {
      try {
        await runtime.delNetworkList(list, conf);
      } catch (cleanup) {
        const c = toCniError(cleanup);
        throw new CniError(err.code, err.message, [err.details, `cleanup DEL also failed: ${c.message}`].filter(Boolean).join('; '), {
          cause: e,
        });
      }
    }
    throw err;
  }
}

/** The outcome of check and del: which attachment. */
export interface AttachmentOutcome {
  network: string;
  conf: RuntimeConf;
}

/** CHECK one network's attachment against its cached result. */
export async function checkCommand(
  network: string,
  netns: string,
  opts: GlobalOptions & AttachmentOptions = {},
  ctx: CommandContext = {},
): Promise<AttachmentOutcome> {
  const { env, runtime: make } = prepare(opts, ctx);
  const conf = runtimeConf(netns, opts, env);
  const runtime = await make();
  const list = await loadList(runtime, network);
  await runtime.checkNetworkList(list, conf);
  return { network: list.name, conf };
}

/** DEL one network's attachment; works when the namespace is already gone. */
export async function delCommand(
  network: string,
  netns: string,
  opts: GlobalOptions & AttachmentOptions = {},
  ctx: CommandContext = {},
): Promise<AttachmentOutcome> {
  const { env, runtime: make } = prepare(opts, ctx);
  const conf = runtimeConf(netns, opts, env);
  const runtime = await make();
  const list = await loadList(runtime, network);
  await runtime.delNetworkList(list, conf);
  return { network: list.name, conf };
}

/** One network's GC outcome. */
export interface GcOutcome {
  network: string;
  error?: CniError;
}

/**
 * GC the named networks (none = every network of the config directory). Without --valid, every
 * cached attachment of each network is deleted, exactly as `cnitool gc` does. Errors are per network.
 */
export async function gcCommand(
  networks: readonly string[],
  opts: GlobalOptions & { valid?: string[] } = {},
  ctx: CommandContext = {},
): Promise<GcOutcome[]> {
  const valid = parseValidAttachments(opts.valid);
  const runtime = await prepare(opts, ctx).runtime();
  const lists =
    networks.length > 0 ? await Promise.all(networks.map((n) => loadList(runtime, n))) : (await runtime.listNetworks()).networks;
  const out: GcOutcome[] = [];
  for (const list of lists) {
    try {
      await runtime.gcNetworkList(list, valid);
      out.push({ network: list.name });
    } catch (e) {
      out.push({ network: list.name, error: toCniError(e) });
    }
  }
  return out;
}

/** STATUS of one network: resolves when every plugin is ready, throws the first plugin's error otherwise. */
export async function statusCommand(
  network: string,
  opts: GlobalOptions = {},
  ctx: CommandContext = {},
): Promise<{ network: string; cniVersion: string }> {
  validateNetworkName(network);
  const runtime = await prepare(opts, ctx).runtime();
  const list = await loadList(runtime, network);
  await runtime.statusNetworkList(list);
  return { network: list.name, cniVersion: list.cniVersion };
}

/** A network `fastcni agent status` was asked about: the STATUS a runtime gets for it now. */
export interface NetworkCheck {
  network: string;
  ready: boolean;
  /** the CNI error code when not ready */
  code?: number;
  msg?: string;
}

/**
 * The agent's status, after asking it for the STATUS of each named network: the runtime execs the
 * plugins (never in-process), so the launchers in CNI_PATH hand each request to the agent at
 * `socketPath`, which records the answer as it records a runtime's (its `networks`).
 */
export async function agentStatusCommand(
  networks: readonly string[],
  opts: GlobalOptions & { socketPath: string },
  ctx: CommandContext = {},
): Promise<{ agent: AgentStatus; checked: NetworkCheck[] }> {
  const env = { ...(ctx.env ?? process.env), FASTCNI_SOCKET: opts.socketPath };
  const make = ctx.runtime ?? defaultRuntime;
  const viaLaunchers: CommandContext = { env, runtime: (options) => make({ ...options, inProcess: false }) };
  const checked: NetworkCheck[] = [];
  for (const network of networks) {
    try {
      await statusCommand(network, opts, viaLaunchers);
      checked.push({ network, ready: true });
    } catch (e) {
      const err = toCniError(e);
      checked.push({ network, ready: false, code: err.code, msg: err.message });
    }
  }
  return { agent: await agentStatus(opts.socketPath), checked };
}

/** What `fastcni list` shows. */
export interface ListOutcome {
  confDir: string;
  cacheDir: string;
  networks: Array<{ name: string; cniVersion: string; plugins: string[]; file?: string }>;
  malformed: Array<{ file: string; error: string }>;
  attachments: Array<{ network: string; containerId: string; ifname: string; netns?: string; addresses: string[] }>;
}

function resultAddresses(result: Record<string, unknown> | undefined): string[] {
  if (!result) return [];
  const ips = (result.ips as Array<{ address?: unknown }> | undefined) ?? [];
  const legacy = [result.ip4, result.ip6] as Array<{ ip?: unknown } | undefined>;
  return [...ips.map((i) => i.address), ...legacy.map((i) => i?.ip)].filter((a): a is string => typeof a === 'string');
}

/** Networks of the config directory (malformed files reported, not fatal) and the cached attachments. */
export async function listCommand(opts: GlobalOptions = {}, ctx: CommandContext = {}): Promise<ListOutcome> {
  const { options, runtime: make } = prepare(opts, ctx);
  const runtime = await make();
  const listing = await runtime.listNetworks();
  const attachments = await runtime.getCachedAttachments();
  return {
    confDir: options.confDir!,
    cacheDir: options.cacheDir!,
    networks: listing.networks.map((l) => ({
      name: l.name,
      cniVersion: l.cniVersion,
      plugins: l.plugins.map((p) => p.type),
      ...(l.source ? { file: l.source } : {}),
    })),
    malformed: listing.errors.map((e) => ({ file: e.file, error: e.error.message })),
    attachments: attachments.map((a) => ({
      network: a.networkName,
      containerId: a.containerId,
      ifname: a.ifname,
      ...(a.netns ? { netns: a.netns } : {}),
      addresses: resultAddresses(a.result),
    })),
  };
}

/**
 * Switch the node back to the reference plugins: what their DEL of our masqueraded pods needs
 * (src/migration/reference.ts), for every cached attachment of the config directory's networks.
 */
export async function handbackCommand(opts: GlobalOptions = {}, ctx: CommandContext = {}): Promise<HandedBack[]> {
  const runtime = await prepare(opts, ctx).runtime();
  const { networks } = await runtime.listNetworks();
  const cached = await runtime.getCachedAttachments();
  return handBack(
    networks,
    cached.map((a) => ({ network: a.networkName, containerId: a.containerId, ifname: a.ifname, addresses: resultAddresses(a.result) })),
  );
}

function packageVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) {
      const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'fastcni') return pkg.version ?? 'unknown';
    }
    dir = dirname(dir);
  }
  return 'unknown';
}

/** Versions: fastcni's, the native addon's (when it loads) and the CNI spec versions supported. */
export async function versionCommand(): Promise<{ version: string; native?: string; cniVersions: string[] }> {
  let native: string | undefined;
  try {
    native = (await import('../native.js')).nativeVersion();
  } catch {
    native = undefined;
  }
  return { version: packageVersion(), ...(native ? { native } : {}), cniVersions: [...ALL_VERSIONS] };
}

/** Create a named namespace under /var/run/netns; returns its path. */
export async function netnsAddCommand(name: string): Promise<{ name: string; path: string }> {
  return { name, path: await createNetns(name) };
}

/** Delete a named namespace; `deleted` is false when it did not exist (not an error). */
export async function netnsDelCommand(name: string): Promise<{ name: string; deleted: boolean }> {
  return { name, deleted: await deleteNetns(name) };
}

/** Names of the namespaces under /var/run/netns. */
export async function netnsListCommand(): Promise<string[]> {
  return listNetns();
}
