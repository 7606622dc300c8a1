// The wire protocol between the dhcp plugin and `fastcni dhcp-daemon`: over a unix stream socket,
// one JSON request line, one JSON answer line, then the daemon closes. Ours alone (the reference
// speaks Go's net/rpc over HTTP, which nothing else calls); this file owns both ends' types and framing.
import { connect, type Socket } from 'node:net';
import type { DhcpLease, DhcpOptionValue } from '../native.js';

/** Where the reference daemon listens, and so ours by default. */
export const DEFAULT_DAEMON_SOCKET = '/run/cni/dhcp.sock';

/** Whose lease: the reference's client ID is made of these three. */
export interface LeaseKey {
  containerId: string;
  network: string;
  ifname: string;
}

/** ADD and CHECK: a lease for the attachment (the one held, else a new one). */
export interface AllocateRequest extends LeaseKey {
  method: 'allocate';
  /** the pod namespace as the daemon can open it now */
  netns: string;
  /** the pod namespace as the runtime named it (absolute): reopened after a daemon restart */
  netnsPath: string;
  /** parameter request list (option codes) */
  request: number[];
  /** options sent with DISCOVER and REQUEST */
  provide: DhcpOptionValue[];
}

/** DEL: stop renewing and send DHCPRELEASE (best effort); no lease is no failure. */
export interface ReleaseRequest extends LeaseKey {
  method: 'release';
}

/** CHECK: the lease held for the attachment, if any (nothing is acquired). */
export interface LookupRequest extends LeaseKey {
  method: 'lookup';
}

/** GC: release the leases of `network` whose attachment is not in `valid`. */
export interface GcRequest {
  method: 'gc';
  network: string;
  valid: Array<{ containerId: string; ifname: string }>;
}

/** STATUS: is the daemon there. */
export interface PingRequest {
  method: 'ping';
}

export type DaemonRequest = AllocateRequest | ReleaseRequest | LookupRequest | GcRequest | PingRequest;

/** A failed request: a CNI error code and message. */
export interface DaemonError {
  code: number;
  msg: string;
  details?: string;
}

/** The answer: `lease` for allocate and lookup (absent: none held), `released` for gc. */
export type DaemonAnswer = { ok: true; lease?: DhcpLease; released?: string[] } | { ok: false; error: DaemonError };

/** The reference's client ID (https://github.com/containernetworking/plugins/blob/main/plugins/ipam/dhcp/daemon.go). */
export function clientId(key: LeaseKey): string {
  // RFC 2132 gives an option one length octet; the reference cuts the text to 254 bytes.
  return Buffer.from(`${key.containerId}/${key.network}/${key.ifname}`).subarray(0, 254).toString();
}

/** A client's failure to reach the daemon at all (no socket, nobody listening). */
export class DaemonUnreachable extends Error {
  constructor(
    readonly socketPath: string,
    readonly reason: NodeJS.ErrnoException,
  ) {
    super(`cannot reach the DHCP daemon at ${socketPath}: ${reason.code ?? reason.message} (is \`fastcni dhcp-daemon\` running?)`);
    this.name = 'DaemonUnreachable';
  }
}

/** Send one request to the daemon listening at `socketPath` and read its answer. */
export function callDaemon(socketPath: string, req: DaemonRequest): Promise<DaemonAnswer> {
  return new Promise((resolve, reject) => {
    let connected = false;
    let text = '';
    const sock: Socket = connect(socketPath, () => {
      connected = true;
      sock.write(`${JSON.stringify(req)}\n`);
    });
    sock.setEncoding('utf8');
    sock.on('data', (chunk: string) => {
      text += chunk;
    });
    sock.on('error', (e: NodeJS.ErrnoException) => reject(connected ? e : new DaemonUnreachable(socketPath, e)));
    sock.on('close', () => {
      const line = text.split('\n', 1)[0] ?? '';
      try {
        resolve(JSON.parse(line) as DaemonAnswer);
      } catch {
        reject(new Error(`the DHCP daemon at ${socketPath} closed the connection without an answer`));
      }
    });
  });
}

/** The daemon's side: read one request line from `sock`, answer it with `serve`, close. */
export function serveConnection(sock: Socket, serve: (req: DaemonRequest) => Promise<DaemonAnswer>): void {
  let text = '';
  sock.setEncoding('utf8');
  sock.on('error', () => undefined);
  sock.on('data', (chunk: string) => {
    text += chunk;
    const nl = text.indexOf('\n');
    if (nl < 0) return;
    sock.removeAllListeners('data');
    let req: DaemonRequest;
    try {
      req = JSON.parse(text.slice(0, nl)) as DaemonRequest;
    } catch {
      sock.end(`${JSON.stringify({ ok: false, error: { code: 6, msg: 'the request is not JSON' } })}\n`);
      return;
    }
    void serve(req).then(
      (answer) => sock.end(`${JSON.stringify(answer)}\n`),
      (e: unknown) => sock.end(`${JSON.stringify({ ok: false, error: { code: 999, msg: e instanceof Error ? e.message : String(e) } })}\n`),
    );
  });
}
