// The agent protocol, agent side: one request frame per connection, one response frame back. The
// format and its Rust side (the launcher and the agent's listener, which also receives the
// descriptors an invoke frame carries) are native/frame/src/lib.rs; test/unit/agent-protocol.test.ts
// holds this file to it, frame by frame and refusal by refusal.

export const MAGIC = Buffer.from('fcni', 'latin1');
export const PROTOCOL_VERSION = 2;
export const HEADER_SIZE = 10;
/** Default request size limit (payload bytes). */
export const DEFAULT_MAX_FRAME = 1 << 20;
/** The largest response payload a client reads; a larger one is not one of ours. */
export const MAX_RESPONSE = 64 << 20;

export const Kind = {
  Invoke: 0x01,
  Status: 0x02,
  Result: 0x81,
  StatusReply: 0x82,
  Refused: 0x83,
} as const;

/** One plugin invocation as the launcher forwards it. */
export interface InvokeRequest {
  plugin: string;
  env: Record<string, string>;
  stdin: Buffer;
}

export type Request = { kind: 'invoke'; invoke: InvokeRequest } | { kind: 'status' };

/** A frame that is not ours or breaks the layout; the message is the logged reason. */
export class FrameError extends Error {
  override name = 'FrameError';
}

function header(kind: number, payloadLength: number): Buffer {
  const h = Buffer.alloc(HEADER_SIZE);
  MAGIC.copy(h, 0);
  h[4] = PROTOCOL_VERSION;
  h[5] = kind;
  h.writeUInt32BE(payloadLength, 6);
  return h;
}

function lengthPrefixed(b: Buffer): Buffer[] {
  const n = Buffer.alloc(4);
  n.writeUInt32BE(b.length);
  return [n, b];
}

/**
 * Encode an invoke request (the launcher's job; here for tests). The agent serves it only with the
 * caller's descriptors alongside, which a Node socket cannot send: see native/frame/src/lib.rs.
 */
export function encodeInvoke(req: InvokeRequest): Buffer {
  const name = Buffer.from(req.plugin, 'utf8');
  const nameLen = Buffer.alloc(2);
  nameLen.writeUInt16BE(name.length);
  const vars = Object.entries(req.env).map(([k, v]) => Buffer.from(`${k}=${v}`, 'utf8'));
  const count = Buffer.alloc(4);
  count.writeUInt32BE(vars.length);
  const payload = Buffer.concat([nameLen, name, count, ...vars.flatMap(lengthPrefixed), ...lengthPrefixed(req.stdin)]);
  return Buffer.concat([header(Kind.Invoke, payload.length), payload]);
}

/** Encode a status request. */
export function encodeStatusRequest(): Buffer {
  return header(Kind.Status, 0);
}

/** Encode the plugin's output: one allocation, the strings written in place. */
export function encodeResult(out: { exitCode: number; stdout: string; stderr: string }): Buffer {
  const outLen = Buffer.byteLength(out.stdout, 'utf8');
  const errLen = Buffer.byteLength(out.stderr, 'utf8');
  const payloadLength = 12 + outLen + errLen;
  const f = Buffer.allocUnsafe(HEADER_SIZE + payloadLength);
  MAGIC.copy(f, 0);
  f[4] = PROTOCOL_VERSION;
  f[5] = Kind.Result;
  f.writeUInt32BE(payloadLength, 6);
  f.writeInt32BE(out.exitCode, HEADER_SIZE);
  f.writeUInt32BE(outLen, HEADER_SIZE + 4);
  f.write(out.stdout, HEADER_SIZE + 8, outLen, 'utf8');
  f.writeUInt32BE(errLen, HEADER_SIZE + 8 + outLen);
  f.write(out.stderr, HEADER_SIZE + 12 + outLen, errLen, 'utf8');
  return f;
}

/** Encode a status reply. */
export function encodeStatusReply(status: unknown): Buffer {
  const payload = Buffer.from(JSON.stringify(status), 'utf8');
  return Buffer.concat([header(Kind.StatusReply, payload.length), payload]);
}

/** Encode a refusal. */
export function encodeRefused(reason: string): Buffer {
  const payload = Buffer.from(reason, 'utf8');
  return Buffer.concat([header(Kind.Refused, payload.length), payload]);
}

/** Check a header; returns kind and payload length or throws FrameError. */
export function parseHeader(h: Buffer, maxPayload: number): { kind: number; length: number } {
  if (!h.subarray(0, 4).equals(MAGIC)) throw new FrameError('bad magic: not a fastcni frame');
  if (h.length < HEADER_SIZE) throw new FrameError('truncated header');
  if (h[4] !== PROTOCOL_VERSION) throw new FrameError(`unsupported protocol version ${h[4]}`);
  const length = h.readUInt32BE(6);
  if (length > maxPayload) throw new FrameError(`frame of ${length} bytes exceeds the limit of ${maxPayload}`);
  return { kind: h[5]!, length };
}

/** A payload read front to back; running out is a FrameError with the message `truncated`. */
class PayloadReader {
  at = 0;
  constructor(
    private readonly p: Buffer,
    private readonly truncated: string,
  ) {}
  take(n: number): Buffer {
    if (this.at + n > this.p.length) throw new FrameError(this.truncated);
    this.at += n;
    return this.p.subarray(this.at - n, this.at);
  }
  u32(): number {
    return this.take(4).readUInt32BE(0);
  }
  bytes(): Buffer {
    return this.take(this.u32());
  }
  get done(): boolean {
    return this.at === this.p.length;
  }
}

/** Decode a request payload of the given kind. */
export function decodeRequest(kind: number, p: Buffer): Request {
  if (kind === Kind.Status) {
    if (p.length !== 0) throw new FrameError('status request with a payload');
    return { kind: 'status' };
  }
  if (kind !== Kind.Invoke) throw new FrameError(`unknown request kind 0x${kind.toString(16)}`);
  const r = new PayloadReader(p, 'truncated invoke payload');
  const plugin = r.take(r.take(2).readUInt16BE(0)).toString('utf8');
  const count = r.u32();
  const env: Record<string, string> = {};
  for (let i = 0; i < count; i++) {
    const kv = r.bytes().toString('utf8');
    const eq = kv.indexOf('=');
    if (eq <= 0) throw new FrameError('environment entry without a name');
    env[kv.slice(0, eq)] = kv.slice(eq + 1);
  }
  const stdin = Buffer.from(r.bytes());
  if (!r.done) throw new FrameError('trailing bytes after the invoke payload');
  if (plugin === '' || plugin.includes('/')) throw new FrameError(`invalid plugin name "${plugin}"`);
  return { kind: 'invoke', invoke: { plugin, env, stdin } };
}

/** A response as a client reads it. */
export type Response =
  | { kind: 'result'; exitCode: number; stdout: Buffer; stderr: Buffer }
  | { kind: 'status'; status: unknown }
  | { kind: 'refused'; reason: string };

/** Decode a whole response frame (header included, nothing after it). */
export function decodeResponse(frame: Buffer): Response {
  const { kind, length } = parseHeader(frame, MAX_RESPONSE);
  if (frame.length < HEADER_SIZE + length) throw new FrameError('truncated response');
  if (frame.length > HEADER_SIZE + length) throw new FrameError('bytes after the response frame');
  const p = frame.subarray(HEADER_SIZE);
  switch (kind) {
    case Kind.Result: {
      const r = new PayloadReader(p, 'truncated result payload');
      const exitCode = r.take(4).readInt32BE(0);
      const stdout = r.bytes();
      const stderr = r.bytes();
      if (!r.done) throw new FrameError('trailing bytes after the result payload');
      return { kind: 'result', exitCode, stdout, stderr };
    }
    case Kind.StatusReply:
      return { kind: 'status', status: JSON.parse(p.toString('utf8')) };
    case Kind.Refused:
      return { kind: 'refused', reason: p.toString('utf8') };
    default:
      throw new FrameError(`unknown response kind 0x${kind.toString(16)}`);
  }
}
