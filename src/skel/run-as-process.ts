// Process entry for a defined plugin: real env and stdin in, stdout/stderr and the exit code out.
import { CniError, ErrorCode } from '../spec/errors.js';
import { errorOutput } from './output.js';
import type { InvocationOutput, Plugin } from './types.js';

async function readAll(stream: NodeJS.ReadableStream): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  return Buffer.concat(chunks);
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
 */
export async function runAsProcess(
  // any: a Plugin<C> is not assignable to Plugin<unknown> (its handlers take C)
  plugin: Plugin<any>,
  io: ProcessIo = { env: process.env, stdin: process.stdin, stdout: process.stdout, stderr: process.stderr },
): Promise<InvocationOutput> {
  const cmd = io.env.CNI_COMMAND ?? '';
  let out: InvocationOutput;
  try {
    const stdin = cmd === '' || cmd === 'VERSION' ? new Uint8Array() : await readAll(io.stdin);
    out = await plugin.invoke({ env: io.env, stdin });
  } catch (e) {
    out = errorOutput(new CniError(ErrorCode.IoFailure, `error reading from stdin: ${(e as Error).message}`, undefined, { cause: e }));
  }
  if (out.stderr) io.stderr.write(out.stderr);
  if (out.stdout) io.stdout.write(out.stdout);
  process.exitCode = out.exitCode;
  return out;
}
