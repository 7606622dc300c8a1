// Fixtures for the bandwidth plugin's tests: a bare veth between a node and a pod namespace (what
// a main plugin would have made) with its prevResult, the tc state read with tc(8), and a real TCP
// transfer between two namespaces whose rate is measured by the receiver.
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { onTestFinished } from 'vitest';
import { ip, ipJson, type Netns } from './netns.js';

/** A veth pair: `host` in the node namespace, eth0 in the pod, both up and addressed. */
export interface BareVeth {
  host: string;
  hostIp: string;
  podIp: string;
  /** the prevResult a main plugin would have returned for it (cniVersion 1.0.0) */
  prevResult: { cniVersion: string; interfaces: Array<{ name: string; mac: string; sandbox?: string }>; ips: unknown[] };
}

export function bareVeth(node: Netns, pod: Netns, o: { host?: string; subnet?: string } = {}): BareVeth {
  const host = o.host ?? 'bwveth0';
  const net = o.subnet ?? '10.66.0';
  ip('-n', node.name, 'link', 'add', host, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', pod.name);
  ip('-n', node.name, 'addr', 'add', `${net}.1/24`, 'dev', host);
  ip('-n', pod.name, 'addr', 'add', `${net}.2/24`, 'dev', 'eth0');
  ip('-n', node.name, 'link', 'set', host, 'up');
  ip('-n', pod.name, 'link', 'set', 'eth0', 'up');
  const mac = (ns: Netns, dev: string) => ipJson<Array<{ address: string }>>('-n', ns.name, 'link', 'show', dev)[0]!.address;
  return {
    host,
    hostIp: `${net}.1`,
    podIp: `${net}.2`,
    prevResult: {
      cniVersion: '1.0.0',
      interfaces: [
        { name: host, mac: mac(node, host) },
        { name: 'eth0', mac: mac(pod, 'eth0'), sandbox: pod.path },
      ],
      ips: [{ interface: 1, address: `${net}.2/24` }],
    },
  };
}

export interface TcQdisc {
  kind: string;
  handle: string;
  dev: string;
  root?: boolean;
  parent?: string;
  refcnt?: number;
  options?: Record<string, unknown>;
}

/** `tc -j qdisc show` in a namespace, without the per-link defaults (noqueue, pfifo_fast…). */
export function qdiscs(ns: Netns): TcQdisc[] {
  const out = execFileSync('tc', ['-n', ns.name, '-j', 'qdisc', 'show'], { encoding: 'utf8' });
  return (JSON.parse(out) as TcQdisc[]).filter((q) => q.kind === 'tbf' || q.kind === 'ingress');
}

/** `tc -j filter show dev DEV ingress` in a namespace. */
export function ingressFilters(ns: Netns, dev: string): Array<Record<string, unknown>> {
  const out = execFileSync('tc', ['-n', ns.name, '-j', 'filter', 'show', 'dev', dev, 'ingress'], { encoding: 'utf8' });
  return JSON.parse(out) as Array<Record<string, unknown>>;
}

/** IFB devices of a namespace: name and MAC. */
export function ifbs(ns: Netns): Array<{ ifname: string; address: string; mtu: number; txqlen?: number }> {
  return ipJson('-n', ns.name, 'link', 'show', 'type', 'ifb');
}

// The receiver: counts bytes, and reports the rate after the first `skip` bytes (the bucket's burst
// passes at once) up to the end of the stream.
const RECEIVE = `
const net = require('node:net');
const [port, skip] = process.argv.slice(1).map(Number);
const server = net.createServer((s) => {
  let total = 0, from;
  s.on('data', (d) => {
    total += d.length;
    if (from === undefined && total >= skip) from = { t: process.hrtime.bigint(), n: total };
  });
  s.on('end', () => {
    const secs = Number(process.hrtime.bigint() - from.t) / 1e9;
    process.stdout.write(JSON.stringify({ total, rate: (total - from.n) / secs }));
    server.close();
  });
});
server.listen(port, () => process.stdout.write('ready\\n'));
`;

const SEND = `
const net = require('node:net');
const [host, port, bytes] = process.argv.slice(1);
const s = net.connect(Number(port), host, () => {
  const chunk = Buffer.alloc(64 * 1024);
  let left = Number(bytes);
  const more = () => {
    while (left > 0) {
      const n = Math.min(left, chunk.length);
      left -= n;
      if (!s.write(n === chunk.length ? chunk : chunk.subarray(0, n))) return s.once('drain', more);
    }
    s.end();
  };
  more();
});
`;

/**
 * Send `bytes` over TCP from namespace `from` to `to` (listening on `address`), and return the
 * receiver's rate in bytes per second after the first `skip` bytes.
 */
export async function transferRate(o: { from: Netns; to: Netns; address: string; bytes: number; skip: number }): Promise<number> {
  const port = '5201';
  const receiver = spawn('ip', ['netns', 'exec', o.to.name, process.execPath, '-e', RECEIVE, port, String(o.skip)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const closed = once(receiver, 'close');
  onTestFinished(() => {
    receiver.kill('SIGKILL');
  });
  let out = '';
  receiver.stdout.on('data', (d: Buffer) => (out += d.toString()));
  while (!out.includes('ready\n')) {
    if (receiver.exitCode !== null) throw new Error(`receiver exited: ${out}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  execFileSync('ip', ['netns', 'exec', o.from.name, process.execPath, '-e', SEND, o.address, port, String(o.bytes)]);
  await closed;
  const got = JSON.parse(out.slice(out.indexOf('ready\n') + 6)) as { total: number; rate: number };
  if (got.total !== o.bytes) throw new Error(`received ${got.total} of ${o.bytes} bytes`);
  return got.rate;
}

/** What shaping a namespace has: its tbf and ingress qdiscs and its IFB devices (both empty = none). */
export function shapingOf(ns: Netns): { qdiscs: TcQdisc[]; ifbs: ReturnType<typeof ifbs> } {
  return { qdiscs: qdiscs(ns), ifbs: ifbs(ns) };
}
