// The request config checks the reference skel makes before dispatch: JSON (6), name (7), cniVersion type (6).
import { CniError, ErrorCode } from '../spec/errors.js';
import { canonicalizeKeys } from '../spec/case-keys.js';
import { goJsonKind, parseJson } from '../spec/go-json.js';
import { netConfSchema } from '../spec/net-conf.js';
import { validateNetworkName } from '../spec/validate-names.js';

const PREFIX = 'error unmarshall network config: ';

/** The request config as received and with the common fields' keys canonicalised (Go matches them case-insensitively). */
export interface RequestConfig {
  raw: Record<string, unknown>;
  canonical: Record<string, unknown>;
}

/** Decode stdin and check `name` like the reference's validateConfig. */
export function readRequestConfig(stdin: Uint8Array): RequestConfig {
  let raw = parseJson(stdin, PREFIX);
  if (raw === null) raw = {};
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    throw new CniError(ErrorCode.DecodingFailure, `${PREFIX}json: cannot unmarshal ${goJsonKind(raw)} into Go value of type struct`);
  }
  const canonical = canonicalizeKeys(raw, netConfSchema) as Record<string, unknown>;
  const name = canonical.name ?? '';
  if (typeof name !== 'string') {
    throw new CniError(
      ErrorCode.DecodingFailure,
      `${PREFIX}json: cannot unmarshal ${goJsonKind(name)} into Go struct field .name of type string`,
    );
  }
  if (name === '') throw new CniError(ErrorCode.InvalidNetworkConfig, 'missing network name');
  validateNetworkName(name);
  return { raw: raw as Record<string, unknown>, canonical };
}

/** The config's cniVersion like version.ConfigDecoder: missing or "" → "0.1.0"; not a string → 6. */
export function decodeConfigVersion(canonical: Record<string, unknown>): string {
  const v = canonical.cniVersion ?? '';
  if (typeof v !== 'string') {
    throw new CniError(
      ErrorCode.DecodingFailure,
      `decoding version from network config: json: cannot unmarshal ${goJsonKind(v)} into Go struct field .cniVersion of type string`,
    );
  }
  return v || '0.1.0';
}
