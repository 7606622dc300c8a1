// Traffic and nf_tables views for the firewall plugin's tests: a TCP server in a namespace, a
// connection attempt from another, and the firewall table as nft lists it. Node does the traffic,
// inside namespaces the test made.
import { spawn, spawnSync } from 'node:child_process';
import { onTestFinished } from 'vitest';
import { BusConnection } from '../../plugins/firewall/dbus.js';
import type { Netns } from './netns.js';
import { ruleset } from './nft.js';

const SERVER = `require('net').createServer((s) => s.end('ok')).listen(+process.argv[1], '::', () => console.log('listening'));`;
const CLIENT = `const s = require('net').connect({ host: process.argv[1], port: +process.argv[2], timeout: +process.argv[3] });
s.on('data', (d) => { process.stdout.write(d); s.destroy(); });
s.on('timeout', () => process.exit(2));
s.on('error', () => process.exit(3));`;

/** A TCP server answering "ok" inside `ns` on `port` (both families); stopped when the test finishes. */
export async function serve(ns: Netns, port: number): Promise<void> {
  const p = spawn('ip', ['netns', 'exec', ns.name, process.execPath, '-e', SERVER, String(port)], { stdio: ['ignore', 'pipe', 'inherit'] });
  onTestFinished(() => {
    p.kill('SIGKILL');
  });
  await new Promise<void>((resolve, reject) => {
    p.stdout!.on('data', (d: Buffer) => d.toString().includes('listening') && resolve());
    p.once('exit', (code) => reject(new Error(`server in ${ns.name} exited (${code})`)));
  });
}

/** Whether a TCP connection from `from` to addr:port gets the server's answer within `timeoutMs`. */
export function connects(from: Netns, addr: string, port: number, timeoutMs = 1500): boolean {
  const r = spawnSync('ip', ['netns', 'exec', from.name, process.execPath, '-e', CLIENT, addr, String(port), String(timeoutMs)], {
    encoding: 'utf8',
    timeout: timeoutMs + 5000,
  });
  return r.status === 0 && r.stdout === 'ok';
}

interface FirewallView {
  /** chains of table inet fastcni-firewall */
  chains: string[];
  /** "<set> <element>" with the element's comment when it has one */
  elements: string[];
}

/** Our firewall table in `ns` as nft -j lists it: chains and every element of every set. */
export function firewallTable(ns: Netns): FirewallView {
  const out: FirewallView = { chains: [], elements: [] };
  for (const item of ruleset(ns)) {
    const [kind, obj] = Object.entries(item)[0] as [string, Record<string, unknown>];
    if (obj.table !== 'fastcni-firewall' || obj.family !== 'inet') continue;
    if (kind === 'chain') out.chains.push(obj.name as string);
    if (kind === 'set') {
      for (const e of (obj.elem as unknown[] | undefined) ?? []) {
        const el = e as { elem?: { val: unknown; comment?: string }; concat?: unknown[] } | string;
        if (typeof el === 'string') out.elements.push(`${obj.name} ${el}`);
        else if (el.elem) out.elements.push(`${obj.name} ${JSON.stringify(el.elem.val)} ${el.elem.comment ?? ''}`.trim());
        else out.elements.push(`${obj.name} ${JSON.stringify(el.concat ?? el)}`);
      }
    }
  }
  out.chains.sort();
  out.elements.sort();
  return out;
}

/** Whether bridged traffic passes the IP hooks (br_netfilter), which same-bridge isolation needs, as the reference's does. */
export function bridgeNetfilter(): boolean {
  return spawnSync('test', ['-e', '/proc/sys/net/bridge/bridge-nf-call-iptables']).status === 0;
}

/** Own `name` on the bus at the unix socket `path` until the test finishes (firewalld's name, say). */
export async function ownName(path: string, name: string): Promise<void> {
  const bus = new BusConnection(path);
  onTestFinished(() => bus.close());
  await bus.register();
  const reply = await bus.call('RequestName', [name, 0]);
  // DBUS_REQUEST_NAME_REPLY_PRIMARY_OWNER
  if (reply.body.readUInt32LE(0) !== 1) throw new Error(`could not own ${name}`);
}
