// Turns CLI flags and cnitool's environment (NETCONFPATH, CNI_PATH, CNI_ARGS, CAP_ARGS, CNI_IFNAME)
// into runtime options and one attachment's RuntimeConf. Flags win over the environment.
import { createHash } from 'node:crypto';
import { resolve } from 'node:path';
import { netnsPath } from '../runtime/netns.js';
import type { Attachment, RuntimeConf, RuntimeOptions } from '../runtime/types.js';
import { CniError, ErrorCode } from '../spec/errors.js';
import { validateContainerId, validateInterfaceName } from '../spec/validate-names.js';

/** The environment the CLI reads (process.env by default; injected in tests). */
export type CliEnv = Record<string, string | undefined>;

export const DEFAULT_CONF_DIR = '/etc/cni/net.d';
export const DEFAULT_CACHE_DIR = '/var/lib/cni';
export const DEFAULT_CNI_PATH = '/opt/cni/bin';
export const DEFAULT_IFNAME = 'eth0';

/** Options every command accepts. */
export interface GlobalOptions {
  /** config directory; default $NETCONFPATH, then /etc/cni/net.d */
  confDir?: string;
  /** libcni cache root; default $FASTCNI_CACHE_DIR, then /var/lib/cni */
  cacheDir?: string;
  /** per-plugin timeout in seconds */
  timeout?: number | string;
}

/** Options of add, check and del. */
export interface AttachmentOptions {
  /** container ID; default synthesised from the netns path like cnitool */
  id?: string;
  /** interface name in the container; default $CNI_IFNAME, then eth0 */
  ifname?: string;
  /** capability args as a JSON object; default $CAP_ARGS */
  cap?: string;
  /** CNI_ARGS as K=V;K2=V2; default $CNI_ARGS */
  args?: string;
}

/** cnitool's container ID for a netns: "cnitool-" + the first 10 bytes of SHA-512(absolute path), in hex. */
export function cnitoolContainerId(netns: string): string {
  return `cnitool-${createHash('sha512').update(resolve(netns)).digest('hex').slice(0, 20)}`;
}

/**
 * Parse CNI_ARGS strictly as cnitool does: pairs split on ";", each exactly one "=" with a
 * non-empty key and value. Empty input → no pairs. Errors are code 4 naming the source.
 */
export function parseArgsPairs(raw: string | undefined, source = 'CNI_ARGS'): Array<[string, string]> {
  if (raw === undefined || raw === '') return [];
  return raw.split(';').map((pair) => {
    const kv = pair.split('=');
    if (kv.length !== 2 || kv[0] === '' || kv[1] === '') {
      throw new CniError(
        ErrorCode.InvalidEnvironment,
        `invalid ${source} pair ${JSON.stringify(pair)}`,
        'expected KEY=VALUE pairs separated by ";"',
      );
    }
    return [kv[0]!, kv[1]!];
  });
}

/** Parse capability args: a JSON object (cnitool's CAP_ARGS). Anything else is code 4 naming the source. */
export function parseCapArgs(raw: string | undefined, source = 'CAP_ARGS'): Record<string, unknown> | undefined {
  if (raw === undefined || raw === '') return undefined;
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch (e) {
    throw new CniError(ErrorCode.InvalidEnvironment, `invalid ${source}: not JSON: ${(e as Error).message}`, undefined, { cause: e });
  }
  if (value === null) return undefined;
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new CniError(ErrorCode.InvalidEnvironment, `invalid ${source}: expected a JSON object such as {"portMappings":[…]}`);
  }
  return value as Record<string, unknown>;
}

/** Parse GC's "ID/IFNAME" valid-attachment arguments, validating both halves. */
export function parseValidAttachments(items: readonly string[] | undefined): Attachment[] | undefined {
  if (items === undefined) return undefined;
  return items.map((item) => {
    const slash = item.lastIndexOf('/');
    if (slash <= 0 || slash === item.length - 1) {
      throw new CniError(ErrorCode.InvalidEnvironment, `invalid --valid ${JSON.stringify(item)}`, 'expected CONTAINERID/IFNAME');
    }
    const containerID = item.slice(0, slash);
    const ifname = item.slice(slash + 1);
    validateContainerId(containerID);
    validateInterfaceName(ifname);
    return { containerID, ifname };
  });
}

function positiveSeconds(v: number | string | undefined, source: string): number | undefined {
  if (v === undefined || v === '') return undefined;
  const n = typeof v === 'number' ? v : Number(v);
  if (!Number.isFinite(n) || n <= 0)
    throw new CniError(ErrorCode.InvalidEnvironment, `invalid ${source} ${JSON.stringify(String(v))}: expected seconds > 0`);
  return n;
}

/** Runtime options from flags and env: --conf-dir > NETCONFPATH, --cache-dir > FASTCNI_CACHE_DIR, CNI_PATH split on ":". */
export function runtimeOptions(opts: GlobalOptions, env: CliEnv): RuntimeOptions {
  const pluginPath = (env.CNI_PATH ?? '').split(':').filter((p) => p !== '');
  const timeout = positiveSeconds(opts.timeout ?? env.FASTCNI_TIMEOUT, '--timeout');
  return {
    confDir: opts.confDir || env.NETCONFPATH || DEFAULT_CONF_DIR,
    cacheDir: opts.cacheDir || env.FASTCNI_CACHE_DIR || DEFAULT_CACHE_DIR,
    pluginPath: pluginPath.length > 0 ? pluginPath : [DEFAULT_CNI_PATH],
    ...(timeout !== undefined ? { timeoutMs: Math.round(timeout * 1000) } : {}),
  };
}

/**
 * One attachment's RuntimeConf: NETNS as a name or path, the container ID (given or cnitool's),
 * ifname (--ifname > CNI_IFNAME > eth0), CNI_ARGS (--args > CNI_ARGS), capability args (--cap > CAP_ARGS).
 * Validates everything before anything runs.
 */
export function runtimeConf(netns: string, opts: AttachmentOptions, env: CliEnv): RuntimeConf {
  const capabilityArgs = opts.cap !== undefined ? parseCapArgs(opts.cap, '--cap') : parseCapArgs(env.CAP_ARGS, 'CAP_ARGS');
  const args = opts.args !== undefined ? parseArgsPairs(opts.args, '--args') : parseArgsPairs(env.CNI_ARGS, 'CNI_ARGS');
  const ifname = opts.ifname ?? (env.CNI_IFNAME || DEFAULT_IFNAME);
  validateInterfaceName(ifname);
  if (netns === '') throw new CniError(ErrorCode.InvalidEnvironment, 'missing network namespace (a name under /var/run/netns or a path)');
  const path = netnsPath(netns);
  const containerId = opts.id ?? cnitoolContainerId(path);
  validateContainerId(containerId);
  return {
    containerId,
    netns: path,
    ifname,
    ...(args.length > 0 ? { args } : {}),
    ...(capabilityArgs !== undefined ? { capabilityArgs } : {}),
  };
}
