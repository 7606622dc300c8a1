// Portmap test helpers: our nf_tables maps as nft lists them, a "client" namespace wired to the node
// by a veth pair (the outside world, only ever our own namespaces), and TCP/UDP servers and clients
// written in Node that run inside test namespaces and report who they talked to.
import { execFile, spawn } from 'node:child_process';
import { onTestFinished } from 'vitest';
import { ip, makeNetns, type Netns } from './netns.js';
import { ruleset } from './nft.js';

export { portmapElements } from './nft.js';

/** Whether the node has any nf_tables table of the portmap plugin. */
export function portmapTables(node: Netns): string[] {
  return ruleset(node)
    .map((i) => i.table as { family?: string; name?: string } | undefined)
    .filter((t) => t?.name === 'fastcni-portmap')
    .map((t) => `${t!.family} ${t!.name}`);
}

/** Write a sysctl inside a namespace (through /proc/sys, no sysctl tool needed). */
export function nsSysctl(ns: Netns, key: string, value: string): void {
  ip('netns', 'exec', ns.name, 'sh', '-c', `echo ${value} > /proc/sys/${key.replaceAll('.', '/')}`);
}

export interface Wired {
  ns: Netns;
  /** the node's address on the link (IPv4, IPv6) */
  nodeV4: string;
  nodeV6: string;
  /** the namespace's own addresses */
  v4: string;
  v6: string;
}

/**
 * A namespace wired to the node by a veth pair on `subnet` (x.y.z.1 the node, .2 the namespace;
 * fdXX::1/::2 for IPv6), its default routes through the node; the node forwards.
 */
export function wireToNode(node: Netns, label: string, n: number): Wired {
  const ns = makeNetns(label);
  const [a, b] = [`fcp${n}a`, `fcp${n}b`];
  ip('link', 'add', a, 'netns', node.name, 'type', 'veth', 'peer', 'name', b, 'netns', ns.name);
  const w = { ns, nodeV4: `192.168.${n}.1`, v4: `192.168.${n}.2`, nodeV6: `fd00:${n}::1`, v6: `fd00:${n}::2` };
  ip('-n', node.name, 'addr', 'add', `${w.nodeV4}/24`, 'dev', a);
  ip('-n', node.name, 'addr', 'add', `${w.nodeV6}/64`, 'dev', a, 'nodad');
  ip('-n', ns.name, 'addr', 'add', `${w.v4}/24`, 'dev', b);
  ip('-n', ns.name, 'addr', 'add', `${w.v6}/64`, 'dev', b, 'nodad');
  ip('-n', node.name, 'link', 'set', a, 'up');
  ip('-n', ns.name, 'link', 'set', b, 'up');
  ip('-n', ns.name, 'route', 'add', 'default', 'via', w.nodeV4);
  ip('-n', ns.name, '-6', 'route', 'add', 'default', 'via', w.nodeV6);
  nsSysctl(node, 'net.ipv4.ip_forward', '1');
  nsSysctl(node, 'net.ipv6.conf.all.forwarding', '1');
  return w;
}

type Proto = 'tcp' | 'udp';

// A server answering each TCP connection or UDP datagram with "<label> <peer address>".
const SERVER = `
const [proto, port, label] = process.argv.slice(1);
const reply = (addr) => Buffer.from(label + ' ' + addr.replace(/^::ffff:/, ''));
if (proto === 'tcp') {
  const s = require('net').createServer((c) => c.end(reply(c.remoteAddress)));
  s.listen({ port: +port, host: '::', ipv6Only: false }, () => console.log('listening'));
} else {
  const s = require('dgram').createSocket({ type: 'udp6', ipv6Only: false });
  s.on('message', (m, r) => s.send(reply(r.address), r.port, r.address));
  s.bind(+port, '::', () => console.log('listening'));
}
`;

// A client printing the server's answer, or "timeout" after 3 s.
const CLIENT = `
const [proto, host, port, sport] = process.argv.slice(1);
const done = (s) => { console.log(s); process.exit(0); };
setTimeout(() => done('timeout'), 3000);
if (proto === 'tcp') {
  const c = require('net').connect({ host, port: +port }, () => {});
  let got = '';
  c.on('data', (d) => (got += d));
  c.on('end', () => done(got));
  c.on('error', (e) => done('error ' + e.code));
} else {
  const c = require('dgram').createSocket(host.includes(':') ? 'udp6' : 'udp4');
  c.on('message', (m) => done(String(m)));
  c.bind(sport ? +sport : 0, () => c.send('hi', +port, host));
}
`;

/** Start a server in `ns` (stopped when the test finishes); resolves once it listens. */
export async function serve(ns: Netns, proto: Proto, port: number, label: string): Promise<void> {
  const child = spawn('ip', ['netns', 'exec', ns.name, process.execPath, '-e', SERVER, proto, String(port), label], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  onTestFinished(() => {
    child.kill('SIGKILL');
  });
  await new Promise<void>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('listening')) resolve();
    });
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.once('exit', (code) => reject(new Error(`server exited (${code}): ${out}`)));
  });
}

/** Connect (or send a datagram, from `sourcePort` if given) from `ns`; the server's answer, or "timeout". */
export function talk(ns: Netns, proto: Proto, host: string, port: number, sourcePort?: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const args = ['netns', 'exec', ns.name, process.execPath, '-e', CLIENT, proto, host, String(port), String(sourcePort ?? '')];
    execFile('ip', args, { encoding: 'utf8' }, (err, stdout) => (err ? reject(err) : resolve(stdout.trim())));
  });
}
