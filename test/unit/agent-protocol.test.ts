// The agent's wire format and its metrics: round trips, limits, malformed payloads, percentiles.
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_MAX_FRAME,
  FrameError,
  HEADER_SIZE,
  Kind,
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
      b[4] = 1;
      b[5] = kind;
      b.writeUInt32BE(len, 6);
      return b;
    };
    expect(() => parseHeader(h('POST', 1, 0), DEFAULT_MAX_FRAME)).toThrow(/bad magic/);
    expect(() => parseHeader(h('fcni', 1, DEFAULT_MAX_FRAME + 1), DEFAULT_MAX_FRAME)).toThrow(/exceeds the limit/);
    const v2 = h('fcni', 1, 0);
    v2[4] = 2;
    expect(() => parseHeader(v2, DEFAULT_MAX_FRAME)).toThrow(/version 2/);
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
