// CNI errors as typed values: the well-known codes, CniError, and the native failure mapping.
// Only the skeleton turns these into the spec's JSON and an exit code.
import type { Failure, FailureKind } from '../../native/addon/index.js';

/** The spec's well-known error codes (https://github.com/containernetworking/cni/blob/main/SPEC.md#error). */
export const ErrorCode = {
  IncompatibleVersion: 1,
  UnsupportedField: 2,
  UnknownContainer: 3,
  InvalidEnvironment: 4,
  IoFailure: 5,
  DecodingFailure: 6,
  InvalidNetworkConfig: 7,
  InvalidNetns: 8,
  TryAgainLater: 11,
  PluginNotAvailable: 50,
  PluginNotAvailableLimited: 51,
  Internal: 999,
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

const CNI_ERROR = Symbol.for('fastcni.CniError');
const NATIVE_ERROR = Symbol.for('fastcni.NativeError');

/** An error a plugin or the runtime reports to its caller with a CNI code. */
export class CniError extends Error {
  readonly [CNI_ERROR] = true;
  constructor(
    readonly code: number,
    msg: string,
    readonly details?: string,
    options?: { cause?: unknown },
  ) {
    super(msg, options);
    this.name = 'CniError';
  }
  /** The spec's error object (without cniVersion, as the reference skel prints it). */
  toJSON(): { code: number; msg: string; details?: string } {
    return this.details ? { code: this.code, msg: this.message, details: this.details } : { code: this.code, msg: this.message };
  }
  static override [Symbol.hasInstance](v: unknown): boolean {
    return typeof v === 'object' && v !== null && (v as Record<symbol, unknown>)[CNI_ERROR] === true;
  }
}

/** A failure reported by the native addon, as data (the addon's Failure, declared in native/addon/index.d.ts). */
export type NativeFailure = Failure;

/** A native failure thrown on the TypeScript side; carries the kind so plugins can decide (e.g. netnsGone on DEL = success). */
export class NativeError extends Error {
  readonly [NATIVE_ERROR] = true;
  readonly kind: FailureKind;
  readonly op: string;
  readonly errno: number;
  constructor(f: NativeFailure) {
    super(f.message);
    this.name = 'NativeError';
    this.kind = f.kind;
    this.op = f.op;
    this.errno = f.errno;
  }
  static override [Symbol.hasInstance](v: unknown): boolean {
    return typeof v === 'object' && v !== null && (v as Record<symbol, unknown>)[NATIVE_ERROR] === true;
  }
}

/**
 * CNI code per failure kind; the rest are 999. Keyed by the kinds' values, checked against the
 * enum by the type, so that importing this file does not load the addon.
 */
const nativeKindCodes: Partial<Record<FailureKind, ErrorCode>> = {
  busy: ErrorCode.TryAgainLater,
  timeout: ErrorCode.TryAgainLater,
  invalid: ErrorCode.InvalidNetworkConfig,
  addressConflict: ErrorCode.InvalidNetworkConfig,
  notBridge: ErrorCode.InvalidNetworkConfig,
};

/** Turn anything thrown into a CniError: typed errors keep their code, native ones map by kind, the rest are 999. */
export function toCniError(e: unknown): CniError {
  if (e instanceof CniError) return e;
  if (e instanceof NativeError) {
    const code = nativeKindCodes[e.kind] ?? ErrorCode.Internal;
    return new CniError(code, e.message, `op=${e.op} errno=${e.errno} kind=${e.kind}`, { cause: e });
  }
  if (e instanceof Error) return new CniError(ErrorCode.Internal, e.message, undefined, { cause: e });
  return new CniError(ErrorCode.Internal, String(e));
}
