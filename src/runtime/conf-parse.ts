// Parsing of conflist and single-plugin config bytes exactly as libcni's NetworkConfFromBytes,
// NetworkPluginConfFromBytes and ConfListFromConf do it, with libcni's error texts.
import { CniError, ErrorCode } from '../spec/errors.js';
import { goStringify, sortKeysDeep } from '../spec/go-json.js';
import { CURRENT_VERSION, versionAtLeast } from '../spec/versions.js';
import type { NetworkList } from './types.js';

type Obj = Record<string, unknown>;
type PluginObj = NetworkList['plugins'][number];

const configError = (msg: string, cause?: unknown): CniError =>
  new CniError(ErrorCode.InvalidNetworkConfig, msg, undefined, cause === undefined ? undefined : { cause });

/** Go's %T of a value decoded into interface{}. */
function goType(v: unknown): string {
  if (v === null) return '<nil>';
  if (Array.isArray(v)) return '[]interface {}';
  if (typeof v === 'object') return 'map[string]interface {}';
  if (typeof v === 'number') return 'float64';
  return typeof v;
}

/** JSON.parse with Go's message for empty input. */
function decode(bytes: Buffer, prefix: string): unknown {
  const text = bytes.toString('utf8');
  if (text.trim() === '') throw configError(`${prefix}: unexpected end of JSON input`);
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw configError(`${prefix}: ${(e as Error).message}`, e);
  }
}

/** libcni's readBool: a bool, or "true"/"false" in any case; anything else is an error. */
function readBool(raw: Obj, key: string): boolean {
  if (!Object.hasOwn(raw, key)) return false;
  const v = raw[key];
  if (typeof v === 'boolean') return v;
  if (typeof v !== 'string') throw configError(`error parsing configuration list: invalid type ${goType(v)} for ${key}`);
  const s = v.toLowerCase();
  if (s === 'true') return true;
  if (s === 'false') return false;
  throw configError(`error parsing configuration list: invalid value ${JSON.stringify(s)} for ${key}`);
}

/** v > CURRENT_VERSION, with libcni's error wording on a bad version. */
function newerThanOurs(v: string, what: string): boolean {
  try {
    return !versionAtLeast(CURRENT_VERSION, v);
  } catch (e) {
    throw configError(`error parsing configuration list: ${what}: ${(e as Error).message}`, e);
  }
}

/**
 * The list version libcni uses: `cniVersion`, or with `cniVersions` the highest entry not newer
 * than ours (the plain `cniVersion` joining the candidates when it is not newer either). Unlike
 * spec/selectListVersion this keeps a too-new cniVersion only when no candidate is left, as libcni does.
 */
function listVersion(raw: Obj): string {
  let base = '';
  if (Object.hasOwn(raw, 'cniVersion')) {
    if (typeof raw.cniVersion !== 'string')
      throw configError(`error parsing configuration list: invalid cniVersion type ${goType(raw.cniVersion)}`);
    base = raw.cniVersion;
  }
  if (!Object.hasOwn(raw, 'cniVersions')) return base;
  const rvs = raw.cniVersions;
  if (!Array.isArray(rvs)) throw configError(`error parsing configuration list: invalid type for cniVersions: ${goType(rvs)}`);
  const candidates: string[] = [];
  rvs.forEach((v: unknown, i) => {
    if (typeof v !== 'string') throw configError(`error parsing configuration list: invalid type for cniVersions index ${i}: ${goType(v)}`);
    if (!newerThanOurs(v, `invalid cniVersions entry ${v} at index ${i}`)) candidates.push(v);
  });
  if (base !== '' && !newerThanOurs(base, `invalid cniVersion ${base}`)) candidates.push(base);
  if (candidates.length === 0) return base;
  return candidates.reduce((best, v) => (versionAtLeast(v, best) ? v : best));
}

/**
 * Check one plugin object the way decoding it into Go's types.PluginConf would: an object, string
 * name/cniVersion/type, a non-empty type, capabilities of booleans. The object is kept whole.
 */
export function checkPluginObject(v: unknown): PluginObj {
  const prefix = 'error parsing configuration';
  if (v === null || typeof v !== 'object' || Array.isArray(v)) {
    throw configError(
      `${prefix}: json: cannot unmarshal ${Array.isArray(v) ? 'array' : v === null ? 'null' : typeof v} into Go value of type types.PluginConf`,
    );
  }
  const o = v as Obj;
  for (const key of ['name', 'cniVersion', 'type']) {
    if (o[key] !== undefined && o[key] !== null && typeof o[key] !== 'string') {
      throw configError(`${prefix}: json: cannot unmarshal ${typeof o[key]} into Go struct field PluginConf.${key} of type string`);
    }
  }
  const caps = o.capabilities;
  if (caps !== undefined && caps !== null) {
    if (typeof caps !== 'object' || Array.isArray(caps) || Object.values(caps).some((b) => typeof b !== 'boolean')) {
      throw configError(
        `${prefix}: json: cannot unmarshal capabilities into Go struct field PluginConf.capabilities of type map[string]bool`,
      );
    }
  }
  if (typeof o.type !== 'string' || o.type === '') throw configError(`${prefix}: missing 'type'`);
  return o as PluginObj;
}

/** One plugin config's bytes (a sibling-dir .conf or a single-plugin file), as NetworkPluginConfFromBytes. */
export function parsePluginConf(bytes: Buffer): PluginObj {
  return checkPluginObject(decode(bytes, 'error parsing configuration'));
}

/**
 * A conflist's bytes as libcni's NetworkConfFromBytes reads them (top-level keys matched exactly).
 * Plugins from a sibling directory are not added here (see loadNetworkListFile).
 */
export function parseNetworkList(bytes: Buffer, source?: string): NetworkList {
  const raw = decode(bytes, 'error parsing configuration list');
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw configError(
      `error parsing configuration list: json: cannot unmarshal ${Array.isArray(raw) ? 'array' : typeof raw} into Go value of type map[string]interface {}`,
    );
  }
  const o = raw as Obj;
  if (!Object.hasOwn(o, 'name')) throw configError('error parsing configuration list: no name');
  if (typeof o.name !== 'string') throw configError(`error parsing configuration list: invalid name type ${goType(o.name)}`);
  const cniVersion = listVersion(o);
  const list: NetworkList = {
    name: o.name,
    cniVersion,
    disableCheck: readBool(o, 'disableCheck'),
    disableGC: readBool(o, 'disableGC'),
    loadOnlyInlinedPlugins: readBool(o, 'loadOnlyInlinedPlugins'),
    plugins: [],
    bytes,
    ...(source !== undefined ? { source } : {}),
  };
  if (!Object.hasOwn(o, 'plugins')) {
    if (list.loadOnlyInlinedPlugins)
      throw configError("error parsing configuration list: `loadOnlyInlinedPlugins` is true, and no 'plugins' key");
    return list;
  }
  if (!Array.isArray(o.plugins)) throw configError(`error parsing configuration list: invalid 'plugins' type ${goType(o.plugins)}`);
  if (o.plugins.length === 0) throw configError('error parsing configuration list: no plugins in list');
  list.plugins = o.plugins.map((p: unknown, i) => {
    try {
      return checkPluginObject(p);
    } catch (e) {
      throw configError(`failed to parse plugin config ${i}: ${(e as Error).message}`, e);
    }
  });
  return list;
}

/**
 * libcni's ConfListFromConf: a single-plugin config up-converted into a one-plugin list whose bytes
 * are what Go marshals for {name, cniVersion, plugins: [conf]} (keys sorted, compact).
 */
export function confListFromConf(plugin: PluginObj, source?: string): NetworkList {
  const name = typeof plugin.name === 'string' ? plugin.name : '';
  const cniVersion = typeof plugin.cniVersion === 'string' ? plugin.cniVersion : '';
  const bytes = Buffer.from(goStringify(sortKeysDeep({ cniVersion, name, plugins: [plugin] }), false));
  return parseNetworkList(bytes, source);
}
