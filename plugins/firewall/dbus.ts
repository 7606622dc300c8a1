// Whether a name has an owner on the D-Bus system bus, as the reference asks before it picks its
// backend (https://github.com/containernetworking/plugins/blob/main/plugins/meta/firewall/firewalld.go,
// isFirewalldRunning). Only what that takes: SASL EXTERNAL, Hello, NameHasOwner
// (https://dbus.freedesktop.org/doc/dbus-specification.html). No bus socket means no round trip.
import { existsSync } from 'node:fs';
import { connect, type Socket } from 'node:net';

/** libdbus's default system bus address (DBUS_SYSTEM_BUS_DEFAULT_ADDRESS). */
export const DEFAULT_SYSTEM_BUS = 'unix:path=/var/run/dbus/system_bus_socket';
const TIMEOUT_MS = 2000;

/** What the bus says about a name. */
export type BusAnswer = { bus: 'absent'; socket: string } | { bus: 'present'; socket: string; owned: boolean };

/** The socket of the first unix:path= or unix:abstract= entry of a bus address (libdbus's syntax). */
export function busSocket(address: string): { path: string; abstract: boolean } | undefined {
  for (const entry of address.split(';')) {
    const [transport, params = ''] = entry.split(/:(.*)/s, 2);
    if (transport !== 'unix') continue;
    for (const kv of params.split(',')) {
      const [k, v = ''] = kv.split(/=(.*)/s, 2);
      const value = decodeURIComponent(v);
      if (k === 'path') return { path: value, abstract: false };
      if (k === 'abstract') return { path: value, abstract: true };
    }
  }
  return undefined;
}

/**
 * Ask the system bus at `address` whether `name` has an owner. `local` maps a path of the caller to
 * one this process can open. An address without a unix socket, or a socket file that does not
 * exist, is no bus (answered without I/O but a stat); a bus that fails to answer is an error.
 */
export async function nameHasOwner(o: { address: string; name: string; local: (p: string) => string }): Promise<BusAnswer> {
  const sock = busSocket(o.address);
  if (!sock) return { bus: 'absent', socket: o.address };
  const target = sock.abstract ? `\0${sock.path}` : o.local(sock.path);
  if (!sock.abstract && !existsSync(target)) return { bus: 'absent', socket: sock.path };
  const bus = new BusConnection(target);
  try {
    const owned = await withTimeout(
      (async () => {
        await bus.register();
        const reply = await bus.call('NameHasOwner', [o.name]);
        return (reply.le ? reply.body.readUInt32LE(0) : reply.body.readUInt32BE(0)) !== 0;
      })(),
      TIMEOUT_MS,
      `D-Bus at ${sock.path} did not answer`,
    );
    return { bus: 'present', socket: sock.path, owned };
  } finally {
    // also on a timeout: a socket left open would keep a fallback process alive
    bus.close();
  }
}

async function withTimeout<T>(p: Promise<T>, ms: number, msg: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(msg)), ms);
  });
  try {
    return await Promise.race([p, t]);
  } finally {
    clearTimeout(timer);
  }
}

/** A connection to a bus, authenticated (SASL EXTERNAL) and registered (Hello), calling the bus itself. */
export class BusConnection {
  private serial = 0;
  private readonly s: Socket;
  private readonly reader: Reader;

  /** Connect to the unix socket at `path` (a leading NUL: abstract); then register(). */
  constructor(path: string) {
    this.s = connect({ path });
    this.reader = new Reader(this.s);
  }

  /** Authenticate as this process's uid and say Hello, as every bus client must first. */
  async register(): Promise<void> {
    const s = this.s;
    if (s.connecting) {
      await new Promise<void>((resolve, reject) => {
        s.once('connect', resolve);
        s.once('error', reject);
      });
    }
    const uid = Buffer.from(String(process.getuid?.() ?? 0)).toString('hex');
    s.write(`\0AUTH EXTERNAL ${uid}\r\n`);
    const line = (await this.reader.line()).trim();
    if (!line.startsWith('OK ')) throw new Error(`D-Bus authentication refused: ${line}`);
    s.write('BEGIN\r\n');
    await this.call('Hello', []);
  }

  /** Call a method of org.freedesktop.DBus with string ('s') and uint32 ('u') arguments; its reply. */
  async call(member: string, args: Array<string | number>): Promise<Incoming> {
    const serial = ++this.serial;
    this.s.write(methodCall(serial, member, args));
    for (;;) {
      const m = await this.reader.message();
      if (m.replySerial !== serial) continue; // signals (NameAcquired) and the like
      if (m.type === MSG_ERROR) throw new Error(`D-Bus ${member} failed: ${m.errorName ?? 'error'}`);
      return m;
    }
  }

  close(): void {
    this.s.destroy();
  }
}

const MSG_METHOD_CALL = 1;
const MSG_ERROR = 3;

/** A little-endian message writer with D-Bus alignment. */
class Writer {
  private parts: number[] = [];
  get length(): number {
    return this.parts.length;
  }
  align(n: number): this {
    while (this.parts.length % n) this.parts.push(0);
    return this;
  }
  byte(b: number): this {
    this.parts.push(b & 0xff);
    return this;
  }
  u32(v: number): this {
    this.align(4);
    this.parts.push(v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff);
    return this;
  }
  string(s: string): this {
    const b = Buffer.from(s, 'utf8');
    this.u32(b.length);
    this.parts.push(...b, 0);
    return this;
  }
  signature(s: string): this {
    this.byte(s.length);
    this.parts.push(...Buffer.from(s, 'ascii'), 0);
    return this;
  }
  buffer(): Buffer {
    return Buffer.from(this.parts);
  }
}

/** A call to org.freedesktop.DBus (the bus itself) with string and uint32 arguments. */
function methodCall(serial: number, member: string, args: Array<string | number>): Buffer {
  const body = new Writer();
  for (const a of args) typeof a === 'string' ? body.string(a) : body.u32(a);
  const fields = new Writer();
  const field = (code: number, sig: string, put: (w: Writer) => void) => {
    fields.align(8).byte(code).signature(sig);
    put(fields);
  };
  field(1, 'o', (w) => w.string('/org/freedesktop/DBus'));
  field(2, 's', (w) => w.string('org.freedesktop.DBus'));
  field(3, 's', (w) => w.string(member));
  field(6, 's', (w) => w.string('org.freedesktop.DBus'));
  if (args.length) field(8, 'g', (w) => w.signature(args.map((a) => (typeof a === 'string' ? 's' : 'u')).join('')));
  const head = new Writer().byte(0x6c).byte(MSG_METHOD_CALL).byte(0).byte(1);
  head.u32(body.length).u32(serial).u32(fields.length);
  const h = Buffer.concat([head.buffer(), fields.buffer()]);
  const pad = Buffer.alloc((8 - (h.length % 8)) % 8);
  return Buffer.concat([h, pad, body.buffer()]);
}

/** A message from the bus: its type, the serial it replies to, its error name, its body. */
export interface Incoming {
  type: number;
  /** little-endian (the sender's byte order) */
  le: boolean;
  replySerial?: number;
  errorName?: string;
  body: Buffer;
}

/** Buffers a socket's bytes into SASL lines, then D-Bus messages. */
class Reader {
  private buf = Buffer.alloc(0);
  private wake: (() => void) | undefined;
  private failed: Error | undefined;
  constructor(s: Socket) {
    s.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      this.wake?.();
    });
    const fail = (e: Error) => {
      this.failed = e;
      this.wake?.();
    };
    s.on('error', fail);
    s.on('close', () => fail(new Error('D-Bus connection closed')));
  }
  private async need(n: number): Promise<void> {
    while (this.buf.length < n) {
      if (this.failed) throw this.failed;
      await new Promise<void>((r) => (this.wake = r));
    }
  }
  private take(n: number): Buffer {
    const b = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    return b;
  }
  async line(): Promise<string> {
    for (;;) {
      const i = this.buf.indexOf('\r\n');
      if (i >= 0) return this.take(i + 2).toString('ascii');
      await this.need(this.buf.length + 1);
    }
  }
  async message(): Promise<Incoming> {
    await this.need(16);
    const le = this.buf[0] === 0x6c;
    const u32 = (b: Buffer, at: number) => (le ? b.readUInt32LE(at) : b.readUInt32BE(at));
    const bodyLen = u32(this.buf, 4);
    const fieldsLen = u32(this.buf, 12);
    const headLen = 16 + fieldsLen + ((8 - ((16 + fieldsLen) % 8)) % 8);
    await this.need(headLen + bodyLen);
    const m = this.take(headLen + bodyLen);
    const out: Incoming = { type: m[1]!, le, body: Buffer.from(m.subarray(headLen)) };
    let at = 16;
    const end = 16 + fieldsLen;
    const align = (n: number) => (at += (n - (at % n)) % n);
    while (at < end) {
      align(8);
      const code = m[at]!;
      const sigLen = m[at + 1]!;
      const sig = m.subarray(at + 2, at + 2 + sigLen).toString('ascii');
      at += 3 + sigLen;
      if (sig === 'u') {
        align(4);
        if (code === 5) out.replySerial = u32(m, at);
        at += 4;
      } else if (sig === 's' || sig === 'o') {
        align(4);
        const len = u32(m, at);
        if (code === 4) out.errorName = m.subarray(at + 4, at + 4 + len).toString('utf8');
        at += 4 + len + 1;
      } else if (sig === 'g') {
        at += 1 + m[at]! + 1;
      } else {
        break; // a field type this reply does not use: the ones before it are all we need
      }
    }
    return out;
  }
}
