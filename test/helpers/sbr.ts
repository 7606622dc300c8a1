// What the sbr plugin's tests read and send: policy rules and routing tables of a namespace read
// with ip(8), and a UDP datagram between two namespaces sent and received by Node.
import { execFileSync, spawn } from 'node:child_process';
import { ipJson, type Netns } from './netns.js';
import { execWith } from './run-plugin.js';

interface RuleJson {
  priority: number;
  src: string;
  srclen?: number;
  table: string;
}

/** Rules of both families with a source address, as `<priority>: from <src> lookup <table>`. */
export function sourceRules(ns: Netns): string[] {
  return ['-4', '-6'].flatMap((f) =>
    ipJson<RuleJson[]>('-n', ns.name, f, 'rule')
      .filter((r) => r.src !== 'all')
      .map((r) => `${r.priority}: from ${r.src} lookup ${r.table}`),
  );
}

interface RouteJson {
  dst: string;
  gateway?: string;
  dev?: string;
  protocol?: string;
  prefsrc?: string;
  table?: string;
}

/** Routes of one table (both families; optionally only through `dev`), as `<dst>[ via <gw>] dev <dev>[ src <prefsrc>]`. */
export function tableRoutes(ns: Netns, table: string | number, dev?: string): string[] {
  const show = (f: string) => {
    try {
      const out = execFileSync('ip', ['-j', '-n', ns.name, f, 'route', 'show', 'table', String(table)], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      });
      return JSON.parse(out.trim() || '[]') as RouteJson[];
    } catch {
      return []; // "FIB table does not exist": nothing ever went into it
    }
  };
  return ['-4', '-6'].flatMap((f) =>
    show(f)
      .filter((r) => dev === undefined || r.dev === dev)
      .map((r) => `${r.dst}${r.gateway ? ` via ${r.gateway}` : ''} dev ${r.dev}${r.prefsrc ? ` src ${r.prefsrc}` : ''}`),
  );
}

/**
 * Every rule and every route of every table of a namespace, both families, as ip(8) reports them;
 * link-local addresses (made from random MACs) replaced by `LINKLOCAL`.
 */
export function routingState(ns: Netns): unknown {
  const each = (...args: string[]) => ['-4', '-6'].map((f) => ipJson('-n', ns.name, '-d', f, ...args));
  const text = JSON.stringify({ rules: each('rule'), routes: each('route', 'show', 'table', 'all') });
  return JSON.parse(text.replace(/fe80::[0-9a-f:]+/g, 'LINKLOCAL'));
}

const LISTEN = `
const s = require('dgram').createSocket('udp4');
const t = setTimeout(() => { console.log('timeout'); process.exit(0); }, 3000);
s.on('message', (m, r) => { console.log(m.toString() + ' from ' + r.address); clearTimeout(t); s.close(); });
s.bind(Number(process.argv[2]), process.argv[1], () => console.log('ready'));
`;

const SEND = `
const s = require('dgram').createSocket('udp4');
const send = () => s.send('hello', Number(process.argv[2]), process.argv[1], (e) => { console.log(e ? e.code : 'sent'); s.close(); });
if (process.argv[3]) s.bind({ address: process.argv[3] }, send); else send();
`;

/**
 * One UDP datagram from namespace `from` (bound to `source` when given) to `address:port`, where a
 * listener in namespace `to` waits up to 3 s: what the sender saw ('sent' or the error code) and
 * what the listener got ('hello from <source>' or 'timeout').
 */
export async function udpProbe(o: { from: Netns; source?: string; to: Netns; address: string; port: number }) {
  const env = { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin' };
  const listener = spawn('ip', ['netns', 'exec', o.to.name, process.execPath, '-e', LISTEN, o.address, String(o.port)], { env });
  let heard = '';
  const done = new Promise<string>((resolve) => {
    listener.stdout.on('data', (d: Buffer) => (heard += d.toString()));
    listener.on('close', () => resolve(heard.replace('ready\n', '').trim()));
  });
  await new Promise<void>((resolve) => listener.stdout.on('data', () => heard.includes('ready') && resolve()));
  const args = ['netns', 'exec', o.from.name, process.execPath, '-e', SEND, o.address, String(o.port), ...(o.source ? [o.source] : [])];
  const sent = await execWith('ip', args, env, '');
  return { sent: sent.stdout.trim(), received: await done };
}
