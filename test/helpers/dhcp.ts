// DHCP lab for the dhcp plugin's tests: a "server" namespace running dnsmasq (Debian's dnsmasq-base,
// started here, stopped when the test ends) on a veth whose other end is a port of a bridge in the
// node namespace, and `fastcni dhcp-daemon` on a temporary socket and state directory.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { onTestFinished } from 'vitest';
import { tempDir } from './fixtures.js';
import { ip, makeNetns, type Netns } from './netns.js';
import { FASTCNI } from './agent.js';

/** The server's address; the pool is .50–.99 of its /24 and dnsmasq names it as router. */
export const SERVER_IP = '10.77.0.1';
export const DHCP_SUBNET = '10.77.0.0/24';
export const LAB_BRIDGE = 'fcnidh0';

export const haveDnsmasq = existsSync('/usr/sbin/dnsmasq');

export interface DhcpLab {
  node: Netns;
  server: Netns;
  dir: string;
  leaseFile: string;
  /** dnsmasq's log (--log-dhcp) so far */
  serverLog(): string;
  /** dnsmasq's lease file: one line per lease, "<expiry> <mac> <ip> <hostname> <client id>" */
  leases(): string[];
}

export interface LabOptions {
  /** dnsmasq options added to the defaults, e.g. ['--dhcp-option=58,4'] */
  dnsmasqArgs?: string[];
  /** lease time (dnsmasq's minimum is 2m) */
  leaseTime?: string;
}

/** Node and server namespaces, the bridge, dnsmasq serving 10.77.0.50–99. */
export async function dhcpLab(o: LabOptions = {}): Promise<DhcpLab> {
  const node = makeNetns('dnode');
  const server = makeNetns('dsrv');
  const dir = tempDir('dhcp');
  ip('-n', node.name, 'link', 'add', LAB_BRIDGE, 'type', 'bridge');
  ip('-n', node.name, 'link', 'set', LAB_BRIDGE, 'up');
  ip('-n', server.name, 'link', 'add', 'srv0', 'type', 'veth', 'peer', 'name', 'srvport', 'netns', node.name);
  ip('-n', node.name, 'link', 'set', 'srvport', 'master', LAB_BRIDGE, 'up');
  ip('-n', server.name, 'addr', 'add', `${SERVER_IP}/24`, 'dev', 'srv0');
  ip('-n', server.name, 'link', 'set', 'srv0', 'up');
  const leaseFile = join(dir, 'dnsmasq.leases');
  const logFile = join(dir, 'dnsmasq.log');
  const proc = spawn(
    'ip',
    [
      'netns',
      'exec',
      server.name,
      'dnsmasq',
      '--keep-in-foreground',
      '--conf-file=/dev/null',
      '--port=0',
      '--user=root',
      '--interface=srv0',
      '--bind-interfaces',
      `--dhcp-range=10.77.0.50,10.77.0.99,255.255.255.0,${o.leaseTime ?? '2m'}`,
      `--dhcp-leasefile=${leaseFile}`,
      `--dhcp-option=option:router,${SERVER_IP}`,
      '--dhcp-authoritative',
      // no ICMP probe of an address before offering it: it holds every DISCOVER for 3 s
      '--no-ping',
      '--log-dhcp',
      `--log-facility=${logFile}`,
      '--pid-file',
      ...(o.dnsmasqArgs ?? []),
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let err = '';
  proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  stopWith(proc);
  const serverLog = () => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : '');
  for (let i = 0; i < 100 && !serverLog().includes('DHCP, IP range'); i++) {
    if (proc.exitCode !== null) throw new Error(`dnsmasq exited: ${err}`);
    await sleep(20);
  }
  return {
    node,
    server,
    dir,
    leaseFile,
    serverLog,
    leases: () =>
      existsSync(leaseFile)
        ? readFileSync(leaseFile, 'utf8')
            .split('\n')
            .filter((l) => l.trim() !== '')
        : [],
  };
}

/** Kill `proc` (and wait for it) when the test finishes. */
function stopWith(proc: ChildProcess): void {
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  onTestFinished(async () => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
    await exited;
  });
}

export interface DhcpDaemonProcess {
  socketPath: string;
  stateDir: string;
  /** its JSON log lines so far */
  logs(): Array<Record<string, unknown>>;
  /** SIGTERM, and wait for the exit */
  stop(): Promise<void>;
}

/** Start `fastcni dhcp-daemon` on a socket and state directory under `dir`, and wait until it listens. */
export async function startDhcpDaemon(dir: string, args: string[] = []): Promise<DhcpDaemonProcess> {
  const socketPath = join(dir, 'dhcp.sock');
  const stateDir = join(dir, 'leases');
  const proc = spawn(
    process.execPath,
    [FASTCNI, 'dhcp-daemon', '--socket-path', socketPath, '--state-dir', stateDir, '--resend', '0.5', ...args],
    {
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  let log = '';
  proc.stderr!.on('data', (d: Buffer) => (log += d.toString()));
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  onTestFinished(async () => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
    await exited;
  });
  for (let i = 0; i < 200 && !log.includes('"listening"'); i++) {
    if (proc.exitCode !== null) throw new Error(`dhcp daemon exited: ${log}`);
    await sleep(25);
  }
  if (!existsSync(socketPath)) throw new Error(`dhcp daemon did not start: ${log}`);
  return {
    socketPath,
    stateDir,
    logs: () =>
      log
        .split('\n')
        .filter((l) => l.trim() !== '')
        .map((l) => JSON.parse(l) as Record<string, unknown>),
    stop: async () => {
      proc.kill('SIGTERM');
      await exited;
    },
  };
}

/** A bridge network on the lab's bridge whose IPAM is dhcp: no gateway address on the bridge, no masquerade. */
export function dhcpBridgeConf(socketPath: string, o: { name?: string; cniVersion?: string; ipam?: Record<string, unknown> } = {}) {
  return {
    cniVersion: o.cniVersion ?? '1.0.0',
    name: o.name ?? 'dhcpnet',
    type: 'bridge',
    bridge: LAB_BRIDGE,
    isGateway: false,
    ipam: { type: 'dhcp', daemonSocketPath: socketPath, ...o.ipam },
  };
}

/** Wait until `cond` holds (polling), or fail naming `what`. */
export async function waitFor(what: string, cond: () => boolean, ms = 10_000): Promise<void> {
  const until = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** A client ID as dnsmasq writes it (lease file, --dhcp-host=id:…): colon-separated hex, its type byte (0) first. */
export function clientIdHex(id: string): string {
  return ['00', ...(Buffer.from(id).toString('hex').match(/../g) ?? [])].join(':');
}

/** A veth from the pod (CNI_IFNAME `ifname`) to a port of the lab's bridge: the interface an IPAM-only call leases on. */
export function podPort(lab: DhcpLab, pod: Netns, ifname = 'eth0'): void {
  const port = `dp${randomBytes(4).toString('hex')}`;
  ip('-n', lab.node.name, 'link', 'add', port, 'type', 'veth', 'peer', 'name', ifname, 'netns', pod.name);
  ip('-n', lab.node.name, 'link', 'set', port, 'master', LAB_BRIDGE, 'up');
}
