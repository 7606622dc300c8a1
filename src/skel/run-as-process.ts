// Process entry for a defined plugin: real env and stdin in, stdout/stderr and the exit code out.
import { readFileSync, writeSync } from 'node:fs';
import { CniError, ErrorCode } from '../spec/errors.js';
import { errorOutput } from './output.js';
import type { InvocationOutput, Plugin, PluginLoader } from './types.js';

async function readAll(stream: NodeJS.ReadableStream): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  return Buffer.concat(chunks);
}

/**
 * The real process's stdin, read from fd 0 directly: a one-shot plugin process need not build
 * process.stdin, which for a pipe loads Node's net and stream machinery (milliseconds of start-up).
 * A non-blocking descriptor (EAGAIN) is read the streaming way instead.
 */
async function readFd0(): Promise<Uint8Array> {
  try {
    return readFileSync(0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EAGAIN') return readAll(process.stdin);
    throw e;
  }
}

/** Write to fd 1 or 2 directly; whatever a non-blocking descriptor refuses goes through the stream. */
function writeFd(fd: 1 | 2, text: string): void {
  const buf = Buffer.from(text, 'utf8');
  let off = 0;
  try {
    while (off < buf.length) off += writeSync(fd, buf, off);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
    (fd === 1 ? process.stdout : process.stderr).write(buf.subarray(off));
  }
}

/** Streams of a process; injectable for tests. */
export interface ProcessIo {
  env: Record<string, string | undefined>;
  stdin: NodeJS.ReadableStream;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

/**
 * Run a plugin as a CNI executable: read stdin (not for VERSION or without CNI_COMMAND, like the
 * reference), invoke, write stdout and stderr, and set process.exitCode. Returns the output.
 * `loadPlugin`: our plugins, for delegates found in CNI_PATH to run in this process.
 */
export async function runAsProcess(
  // biome-ignore lint/suspicious/noExplicitAny: a Plugin<C> is not assignable to Plugin<unknown> (its handlers take C)
  plugin: Plugin<any>,
  io?: ProcessIo,
  loadPlugin?: PluginLoader,
): Promise<InvocationOutput> {
  const env = io?.env ?? process.env;
  const cmd = env.CNI_COMMAND ?? '';
  let out: InvocationOutput;
  try {
    const stdin = cmd === '' || cmd === 'VERSION' ? new Uint8Array() : io ? await readAll(io.stdin) : await readFd0();
    out = await plugin.invoke({ env, stdin, ...(loadPlugin ? { loadPlugin } : {}) });
  } catch (e) {
    out = errorOutput(new CniError(ErrorCode.IoFailure, `error reading from stdin: ${(e as Error).message}`, undefined, { cause: e }));
  }
  if (out.stderr) io ? io.stderr.write(out.stderr) : writeFd(2, out.stderr);
  if (out.stdout) io ? io.stdout.write(out.stdout) : writeFd(1, out.stdout);
  process.exitCode = out.exitCode;
  return out;
}
