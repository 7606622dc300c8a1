// The agent's wire format and its metrics: round trips, limits, malformed payloads, percentiles;
// and src/agent/protocol.ts against the Rust crate native/frame (launcher and listener): each side
// decodes the other's frames of every kind to the same fields and encodes them to the same bytes,
// and both refuse the same malformed frames for the same reason.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_MAX_FRAME,
  FrameError,
  HEADER_SIZE,
  Kind,
  MAX_RESPONSE,
  PROTOCOL_VERSION,
  type InvokeRequest,
  decodeRequest,
  decodeResponse,
  encodeInvoke,
  encodeRefused,
  encodeResult,
  encodeStatusReply,
  encodeStatusRequest,
  parseHeader,
} from '../../src/agent/protocol.js';
import { Metrics, prometheusText } from '../../src/agent/metrics.js';

describe('agent protocol', () => {
  it('round-trips an invoke request, values with "=" and non-ASCII included', () => {
    const req = {
      plugin: 'bridge',
      env: { CNI_COMMAND: 'ADD', CNI_ARGS: 'IP=10.0.0.1;K8S_POD_NAME=é', PATH: '/bin' },
      stdin: Buffer.from('{"a":1}'),
    };
    const frame = encodeInvoke(req);
    const h = parseHeader(frame.subarray(0, HEADER_SIZE), DEFAULT_MAX_FRAME);
    expect(h).toEqual({ kind: Kind.Invoke, length: frame.length - HEADER_SIZE });
    expect(decodeRequest(h.kind, frame.subarray(HEADER_SIZE))).toEqual({ kind: 'invoke', invoke: req });
  });

  it('round-trips results, status and refusals', () => {
    expect(decodeResponse(encodeResult({ exitCode: 1, stdout: '{\n    "code": 7\n}', stderr: 'warn\n' }))).toEqual({
      kind: 'result',
      exitCode: 1,
      stdout: Buffer.from('{\n    "code": 7\n}'),
      stderr: Buffer.from('warn\n'),
    });
    expect(decodeResponse(encodeStatusReply({ requests: 3 }))).toEqual({ kind: 'status', status: { requests: 3 } });
    expect(decodeResponse(encodeRefused('no'))).toEqual({ kind: 'refused', reason: 'no' });
    expect(decodeRequest(Kind.Status, encodeStatusRequest().subarray(HEADER_SIZE))).toEqual({ kind: 'status' });
  });

  it('rejects foreign, oversized and malformed frames', () => {
    const h = (s: string, kind: number, len: number): Buffer => {
      const b = Buffer.alloc(HEADER_SIZE);
      b.write(s, 0, 'latin1');
      b[4] = PROTOCOL_VERSION;
      b[5] = kind;
      b.writeUInt32BE(len, 6);
      return b;
    };
    expect(() => parseHeader(h('POST', 1, 0), DEFAULT_MAX_FRAME)).toThrow(/bad magic/);
    expect(() => parseHeader(h('fcni', 1, DEFAULT_MAX_FRAME + 1), DEFAULT_MAX_FRAME)).toThrow(/exceeds the limit/);
    // a launcher or agent of the first protocol, whose invoke frames carried no descriptors
    const v1 = h('fcni', 1, 0);
    v1[4] = 1;
    expect(() => parseHeader(v1, DEFAULT_MAX_FRAME)).toThrow(/unsupported protocol version 1/);
    const good = encodeInvoke({ plugin: 'x', env: { A: 'b' }, stdin: Buffer.from('zz') }).subarray(HEADER_SIZE);
    expect(() => decodeRequest(Kind.Invoke, good.subarray(0, good.length - 1))).toThrow(FrameError);
    expect(() => decodeRequest(Kind.Invoke, Buffer.concat([good, Buffer.from([0])]))).toThrow(/trailing/);
    expect(() => decodeRequest(0x42, good)).toThrow(/unknown request kind/);
    expect(() =>
      decodeRequest(Kind.Invoke, encodeInvoke({ plugin: '../x', env: {}, stdin: Buffer.alloc(0) }).subarray(HEADER_SIZE)),
    ).toThrow(/invalid plugin name/);
    const noName = encodeInvoke({ plugin: 'x', env: { '': 'v' }, stdin: Buffer.alloc(0) }).subarray(HEADER_SIZE);
    expect(() => decodeRequest(Kind.Invoke, noName)).toThrow(/without a name/);
  });
});

describe('agent metrics', () => {
  it('counts and takes nearest-rank percentiles per plugin and command', () => {
    const m = new Metrics();
    for (let i = 1; i <= 100; i++) m.record('bridge', 'ADD', i, i === 100 ? 1 : 0);
    m.record('bridge', 'DEL', 5, 0);
    const s = m.snapshot();
    expect(s).toMatchObject({ requests: 101, errors: 1, refused: 0 });
    expect(s.latency['bridge ADD']).toEqual({ count: 100, errors: 1, p50Ms: 50, p95Ms: 95, p99Ms: 99 });
    expect(s.latency['bridge DEL']).toMatchObject({ count: 1, p99Ms: 5 });
    const text = prometheusText(s);
    expect(text).toContain('fastcni_agent_requests_total 101');
    expect(text).toContain('fastcni_agent_request_seconds{plugin="bridge",command="ADD",quantile="0.95"} 0.095');
    const withPhases = prometheusText({ ...s, phases: [{ name: 'bridgeAdd.vethCreate', totalMs: 250, count: 100 }] });
    expect(withPhases).toContain('fastcni_agent_phase_seconds_total{phase="bridgeAdd.vethCreate"} 0.25');
    expect(withPhases).toContain('fastcni_agent_phase_calls_total{phase="bridgeAdd.vethCreate"} 100');
  });
});

/** Built with the launcher by `make build` (package.json build:frame-check). */
const TOOL = join(process.cwd(), 'target', 'release', 'fastcni-frame-check');

type Decoded = Record<string, unknown>;

const unhex = (h: string): Buffer => Buffer.from(h, 'hex');

/** What the Rust crate makes of a whole frame: its fields (byte strings as Buffers) and its own encoding, or its refusal. */
function rust(mode: 'request' | 'response', frame: Buffer): Decoded {
  const run = spawnSync(TOOL, [mode], { input: frame });
  if (run.status !== 0) throw new Error(`${TOOL} ${mode} failed: ${run.stderr.toString()}`);
  const raw = JSON.parse(run.stdout.toString()) as Record<string, unknown>;
  if (typeof raw.error === 'string') return { error: unhex(raw.error).toString('utf8') };
  const out: Decoded = {};
  for (const [k, v] of Object.entries(raw)) {
    if (k === 'env') out.env = Object.fromEntries((v as [string, string][]).map(([n, x]) => [unhex(n).toString(), unhex(x).toString()]));
    else if (k === 'plugin' || k === 'reason') out[k] = unhex(v as string).toString('utf8');
    else out[k] = typeof v === 'string' && k !== 'kind' ? unhex(v) : v;
  }
  return out;
}

/** A whole request frame as the agent decodes it (the listener has checked it is one whole frame). */
function tsRequest(frame: Buffer): Decoded {
  try {
    const { kind, length } = parseHeader(frame, DEFAULT_MAX_FRAME);
    if (frame.length !== HEADER_SIZE + length) return { error: 'not one whole frame' };
    const r = decodeRequest(kind, frame.subarray(HEADER_SIZE));
    return r.kind === 'invoke' ? { kind: 'invoke', ...r.invoke } : { kind: 'status' };
  } catch (e) {
    return { error: (e as Error).message };
  }
}

function tsResponse(frame: Buffer): Decoded {
  try {
    const r = decodeResponse(frame);
    return r.kind === 'status' ? { kind: 'status', status: Buffer.from(JSON.stringify(r.status)) } : { ...r };
  } catch (e) {
    return { error: (e as Error).message };
  }
}

/** `payload` under a header that announces exactly its length. */
function framed(kind: number, payload: Buffer, version = PROTOCOL_VERSION): Buffer {
  const h = Buffer.alloc(HEADER_SIZE);
  h.write('fcni', 0, 'latin1');
  h[4] = version;
  h[5] = kind;
  h.writeUInt32BE(payload.length, 6);
  return Buffer.concat([h, payload]);
}

const invokes: InvokeRequest[] = [
  {
    plugin: 'bridge',
    env: { CNI_COMMAND: 'ADD', CNI_ARGS: 'IP=10.0.0.1;K8S_POD_NAME=é', PATH: '/usr/bin:/bin', EMPTY: '' },
    stdin: Buffer.from('{"cniVersion":"1.1.0","name":"pods","type":"bridge"}'),
  },
  { plugin: 'host-local', env: {}, stdin: Buffer.alloc(0) },
  { plugin: 'x', env: { CNI_COMMAND: 'VERSION' }, stdin: Buffer.from(Array.from({ length: 256 }, (_, i) => i)) },
];

describe('agent frames, TypeScript against Rust', () => {
  it('has the Rust side built', () => {
    expect(existsSync(TOOL), `${TOOL} is missing: run make build`).toBe(true);
  });

  it('decodes each other’s requests to the same fields and bytes', () => {
    for (const req of invokes) {
      const frame = encodeInvoke(req);
      const r = rust('request', frame);
      expect(r).toEqual({ kind: 'invoke', plugin: req.plugin, env: req.env, stdin: req.stdin, frame });
      expect(tsRequest(r.frame as Buffer)).toEqual({ kind: 'invoke', ...req });
    }
    const status = encodeStatusRequest();
    expect(rust('request', status)).toEqual({ kind: 'status', frame: status });
  });

  it('decodes each other’s responses to the same fields and bytes', () => {
    const results = [
      { exitCode: 0, stdout: '{\n    "cniVersion": "1.1.0"\n}', stderr: '' },
      { exitCode: -2, stdout: '', stderr: 'warn: é\n' },
      { exitCode: 2147483647, stdout: 'x'.repeat(70_000), stderr: 'y' },
    ];
    for (const out of results) {
      const frame = encodeResult(out);
      const r = rust('response', frame);
      const want = { kind: 'result', exitCode: out.exitCode, stdout: Buffer.from(out.stdout), stderr: Buffer.from(out.stderr) };
      expect(r).toEqual({ ...want, frame });
      expect(tsResponse(r.frame as Buffer)).toEqual(want);
    }
    const status = { requests: 3, latency: { 'bridge ADD': { p50Ms: 1.5 } } };
    const statusFrame = encodeStatusReply(status);
    expect(rust('response', statusFrame)).toEqual({ kind: 'status', status: Buffer.from(JSON.stringify(status)), frame: statusFrame });
    for (const reason of ['peer uid 1000 is not allowed (root only)', 'é', '']) {
      const frame = encodeRefused(reason);
      const r = rust('response', frame);
      expect(r).toEqual({ kind: 'refused', reason, frame });
      expect(tsResponse(r.frame as Buffer)).toEqual({ kind: 'refused', reason });
    }
  });

  it('refuses malformed requests alike', () => {
    const good = encodeInvoke(invokes[0]!).subarray(HEADER_SIZE);
    const cases: [string, Buffer][] = [
      ['bad magic', Buffer.from('POST / HTTP/1.1\r\n')],
      ['short', Buffer.from('fc')],
      ['truncated header', Buffer.from('fcni\x01\x01\x00')],
      ['version', framed(Kind.Invoke, good, 1)],
      ['over the limit', framed(Kind.Invoke, Buffer.alloc(DEFAULT_MAX_FRAME + 1))],
      ['a response kind', framed(Kind.Result, good)],
      ['unknown kind', framed(0x42, good)],
      ['status with payload', framed(Kind.Status, Buffer.from('x'))],
      ['trailing bytes', framed(Kind.Invoke, Buffer.concat([good, Buffer.from([0])]))],
      ['bytes after the frame', Buffer.concat([encodeStatusRequest(), Buffer.from('x')])],
      ['frame cut short', encodeInvoke(invokes[0]!).subarray(0, 40)],
      ['entry without a name', encodeInvoke({ plugin: 'x', env: { '': 'v' }, stdin: Buffer.alloc(0) })],
      ['no plugin name', encodeInvoke({ plugin: '', env: {}, stdin: Buffer.alloc(0) })],
      ['a path as plugin name', encodeInvoke({ plugin: '../x', env: {}, stdin: Buffer.alloc(0) })],
    ];
    // the payload cut at every byte, under a header that matches the cut
    for (let n = 0; n < good.length; n++) cases.push([`payload cut at ${n}`, framed(Kind.Invoke, good.subarray(0, n))]);
    for (const [name, frame] of cases) {
      const ts = tsRequest(frame);
      expect(ts.error, `${name}: TypeScript accepted it`).toBeTypeOf('string');
      expect(rust('request', frame), name).toEqual(ts);
    }
  });

  it('refuses malformed responses alike', () => {
    const good = encodeResult({ exitCode: 1, stdout: 'out', stderr: 'err' });
    const payload = good.subarray(HEADER_SIZE);
    const oversized = Buffer.alloc(HEADER_SIZE);
    framed(Kind.Refused, Buffer.alloc(0)).copy(oversized);
    oversized.writeUInt32BE(MAX_RESPONSE + 1, 6);
    const cases: [string, Buffer][] = [
      ['bad magic', Buffer.from('HTTP/1.1 200 OK\r\n')],
      ['empty', Buffer.alloc(0)],
      ['truncated header', good.subarray(0, 7)],
      ['version', framed(Kind.Result, payload, 0)],
      ['over the limit', oversized],
      ['a request kind', framed(Kind.Invoke, payload)],
      ['truncated frame', good.subarray(0, good.length - 1)],
      ['bytes after the frame', Buffer.concat([good, Buffer.from('x')])],
      ['trailing bytes in the payload', framed(Kind.Result, Buffer.concat([payload, Buffer.from('x')]))],
    ];
    for (let n = 0; n < payload.length; n++) cases.push([`payload cut at ${n}`, framed(Kind.Result, payload.subarray(0, n))]);
    for (const [name, frame] of cases) {
      const ts = tsResponse(frame);
      expect(ts.error, `${name}: TypeScript accepted it`).toBeTypeOf('string');
      expect(rust('response', frame), name).toEqual(ts);
    }
  });
});
