// Network lists from a config directory as libcni's LoadNetworkConf finds them: .conflist files first,
// then .conf/.json up-converted, lexical order, first name match, sibling <dir>/<name>/*.conf plugins.
// Unlike libcni a file that fails to load is reported and skipped, never blocking other networks.
import type { Dirent } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { CniError, ErrorCode } from '../spec/errors.js';
import { confListFromConf, parseNetworkList, parsePluginConf } from './conf-parse.js';
import type { ConfigFileError, NetworkList, NetworkListing } from './types.js';

/** libcni's ConfFiles: regular entries (not directories) with one of the extensions; a missing dir is empty. Sorted. */
export async function confFiles(dir: string, extensions: readonly string[]): Promise<string[]> {
  let entries: Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  return entries
    .filter((d) => !d.isDirectory() && extensions.includes(extname(d.name)))
    .map((d) => d.name)
    .sort()
    .map((n) => join(dir, n));
}

/** A conflist file plus, unless loadOnlyInlinedPlugins, the plugins of `<dir>/<name>/*.conf` (libcni NetworkConfFromFile). */
export async function loadNetworkListFile(file: string): Promise<NetworkList> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (e) {
    throw new CniError(ErrorCode.IoFailure, `error reading ${file}: ${(e as Error).message}`, undefined, { cause: e });
  }
  const list = parseNetworkList(bytes, file);
  if (!list.loadOnlyInlinedPlugins) {
    const pluginDir = join(file, '..', list.name);
    let files: string[];
    try {
      files = await confFiles(pluginDir, ['.conf']);
    } catch (e) {
      throw new CniError(ErrorCode.IoFailure, `failed to read plugin config files in ${pluginDir}: ${(e as Error).message}`, undefined, {
        cause: e,
      });
    }
    for (const f of files) {
      let pbytes: Buffer;
      try {
        pbytes = await readFile(f);
      } catch (e) {
        throw new CniError(ErrorCode.IoFailure, `error reading ${f}: ${(e as Error).message}`, undefined, { cause: e });
      }
      list.plugins.push(parsePluginConf(pbytes));
    }
  }
  if (list.plugins.length === 0) throw new CniError(ErrorCode.InvalidNetworkConfig, 'no plugin configs found');
  return list;
}

/** A single-plugin .conf/.json file up-converted into a one-plugin list (libcni ConfFromFile + ConfListFromConf). */
export async function loadSingleConfFile(file: string): Promise<NetworkList> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (e) {
    throw new CniError(ErrorCode.IoFailure, `error reading ${file}: ${(e as Error).message}`, undefined, { cause: e });
  }
  return confListFromConf(parsePluginConf(bytes), file);
}

function asError(e: unknown): Error {
  return e instanceof Error ? e : new Error(String(e));
}

/** Options of loadNetworkList. */
export interface LoadOptions {
  /** told about every file that failed to load on the way (they are skipped) */
  onFileError?(err: ConfigFileError): void;
}

/**
 * libcni's LoadNetworkConf(dir, name): the first .conflist (sorted) whose name matches, else the
 * first .conf/.json (sorted) up-converted. Errors (CniError 7) are worded as libcni's:
 * `no net configurations found in <dir>`, `no net configuration with name "<n>" in <dir>` — the
 * latter lists, in its details, the files that could not be loaded.
 */
export async function loadNetworkList(confDir: string, name: string, opts: LoadOptions = {}): Promise<NetworkList> {
  const failed: ConfigFileError[] = [];
  const fail = (file: string, e: unknown): void => {
    const err = { file, error: asError(e) };
    failed.push(err);
    opts.onFileError?.(err);
  };
  const lists = await confFiles(confDir, ['.conflist']);
  for (const file of lists) {
    try {
      const list = await loadNetworkListFile(file);
      if (list.name === name) return list;
    } catch (e) {
      fail(file, e);
    }
  }
  const singles = await confFiles(confDir, ['.conf', '.json']);
  for (const file of singles) {
    try {
      const list = await loadSingleConfFile(file);
      if (list.name === name) return list;
    } catch (e) {
      fail(file, e);
    }
  }
  if (lists.length === 0 && singles.length === 0) {
    throw new CniError(ErrorCode.InvalidNetworkConfig, `no net configurations found in ${confDir}`);
  }
  const details = failed.length ? failed.map((f) => `${f.file}: ${f.error.message}`).join('; ') : undefined;
  throw new CniError(ErrorCode.InvalidNetworkConfig, `no net configuration with name ${JSON.stringify(name)} in ${confDir}`, details);
}

/**
 * Every network the directory defines, in libcni's lookup order, the first file per name winning
 * (the one loadNetworkList would return), plus each file that failed to load.
 */
export async function listNetworks(confDir: string): Promise<NetworkListing> {
  const networks: NetworkList[] = [];
  const errors: ConfigFileError[] = [];
  const seen = new Set<string>();
  const files = [
    ...(await confFiles(confDir, ['.conflist'])).map((f) => [f, loadNetworkListFile] as const),
    ...(await confFiles(confDir, ['.conf', '.json'])).map((f) => [f, loadSingleConfFile] as const),
  ];
  for (const [file, load] of files) {
    try {
      const list = await load(file);
      if (seen.has(list.name)) continue;
      seen.add(list.name);
      networks.push(list);
    } catch (e) {
      errors.push({ file, error: asError(e) });
    }
  }
  return { networks, errors };
}
