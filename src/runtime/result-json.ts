// Plugin results on the runtime side as libcni handles them: fixupResultVersion + create.Create on a
// plugin's stdout, and the JSON its result types marshal back (as the reference prints them).
import { CniError, ErrorCode } from '../spec/errors.js';
import { convertResult, parseResult } from '../spec/result-convert.js';
import type { VersionedResult } from '../spec/result-schemas.js';
import { resultToGoJson } from '../spec/result-print.js';
import { resultFamily } from '../spec/versions.js';
import type { VersionedResultJson } from './types.js';

type Obj = Record<string, unknown>;

/**
 * The JSON libcni's result types marshal for a result of `version` (what it passes as prevResult
 * and caches): 0.3+ with keys sorted and an empty dns dropped, 0.1/0.2 in struct order with dns.
 */
export function resultStructJson(r: VersionedResult, version: string): VersionedResultJson {
  return resultToGoJson(r, version) as VersionedResultJson;
}

/**
 * A result object (any version, `cniVersion` inside; "" or missing means `fallbackVersion`) read
 * into libcni's types and marshalled back, optionally converted to another version first.
 * Throws a CniError (code 999 for an unknown version or a failed conversion, 7 for a bad field).
 */
export function normaliseResult(raw: unknown, fallbackVersion: string, toVersion?: string, what = 'result'): VersionedResultJson {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new CniError(ErrorCode.DecodingFailure, `${what} is not a JSON object`);
  }
  const v = (raw as Obj).cniVersion;
  const version = typeof v === 'string' && v !== '' ? v : fallbackVersion;
  if (!resultFamily(version)) throw new CniError(ErrorCode.Internal, `unsupported CNI result version ${JSON.stringify(version)}`);
  const parsed = parseResult({ ...(raw as Obj), cniVersion: version }, version, `${what}: `);
  if (toVersion === undefined || toVersion === version) return resultStructJson(parsed, version);
  let converted: VersionedResult;
  try {
    if (!resultFamily(toVersion)) throw new Error(`unsupported CNI result version ${JSON.stringify(toVersion)}`);
    converted = convertResult(parsed, version, toVersion);
  } catch (e) {
    throw new CniError(
      ErrorCode.Internal,
      `failed to convert cached result to config version ${JSON.stringify(toVersion)}: ${(e as Error).message}`,
      undefined,
      { cause: e },
    );
  }
  return resultStructJson(converted, toVersion);
}

/**
 * A plugin's ADD stdout as libcni reads it (fixupResultVersion, then create.Create): a result with
 * no or an empty cniVersion is taken in the request's version ("" = 0.1.0). Errors name the plugin.
 */
export function parsePluginResult(stdout: string, requestVersion: string, plugin: string): VersionedResultJson {
  if (stdout.trim() === '') {
    throw new CniError(ErrorCode.DecodingFailure, `plugin ${JSON.stringify(plugin)} printed no result on ADD`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(stdout) as unknown;
  } catch (e) {
    throw new CniError(
      ErrorCode.DecodingFailure,
      `failed to unmarshal raw result of plugin ${JSON.stringify(plugin)}: ${(e as Error).message} result ${stdout}`,
      undefined,
      {
        cause: e,
      },
    );
  }
  // Go reads "null" as an empty map.
  return normaliseResult(raw ?? {}, requestVersion || '0.1.0', undefined, `result of plugin ${JSON.stringify(plugin)}`);
}
