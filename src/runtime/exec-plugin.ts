// Exec one plugin binary as libcni's RawExec does: env and stdin given, stdout and stderr captured,
// "text file busy" retried (1 s, up to 6 attempts), and a deadline that SIGKILLs a hung plugin.
import { createRequire } from 'node:module';
import { constants as osConstants } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { CniError, ErrorCode, NativeError } from '../spec/errors.js';
import { execIn } from '../native.js';
import type { InvocationOutput } from '../skel/types.js';
import type { CallerFiles } from '../skel/caller-paths.js';

/** node:child_process, through a require made on first use (see execOnce) */
let requireBuiltin: NodeJS.Require | undefined;

/** One exec of a plugin binary. */
export interface ExecRequest {
  /** the binary (found with findInPath) */
  path: string;
  /** the whole environment of the child */
  env: Record<string, string | undefined>;
  stdin: Uint8Array | string;
  /** SIGKILL the plugin and fail after this long; none when undefined or 0 */
  timeoutMs?: number;
  /** the plugin's stderr, once it has exited */
  onStderr?(text: string): void;
  /** how errors name the plugin (default: the path) */
  label?: string;
  /**
   * network namespace (path) the child runs in, when it is not ours: the agent's delegates run
   * where the launcher ran. Such an exec has no deadline (timeoutMs is for the runtime's own execs).
   */
  netns?: string;
  /**
   * the mount namespace, root and working directory the child runs in (the agent's launcher's), with
   * `path` as seen from there; no deadline either
   */
  caller?: CallerFiles;
}

/** libcni retries a start that fails with ETXTBSY this many times in all. */
const TXTBSY_ATTEMPTS = 6;

/**
 * Run the binary; resolves with its exit code and output (a non-zero exit is not an error here).
 * Throws a CniError when it cannot be started or does not finish within the timeout.
 */
export async function execPlugin(req: ExecRequest): Promise<InvocationOutput> {
  for (let attempt = 1; ; attempt++) {
    try {
      const out = await execOnce(req);
      if (out.stderr !== '') req.onStderr?.(out.stderr);
      return out;
    } catch (e) {
      if (e instanceof CniError) throw e;
      if ((e as NodeJS.ErrnoException).code === 'ETXTBSY' && attempt < TXTBSY_ATTEMPTS) {
        await sleep(1000);
        continue;
      }
      throw new CniError(ErrorCode.Internal, `failed to run plugin ${req.label ?? req.path}: ${(e as Error).message}`, undefined, {
        cause: e,
      });
    }
  }
}

/** The child forked from a native thread inside req.netns and req.caller; start failures look like spawn's. */
async function execWhere(req: ExecRequest): Promise<InvocationOutput> {
  const env = definedEnv(req.env);
  const { netns, caller } = req;
  const where = { netns, mntns: caller?.mountNs, root: caller?.root, cwd: caller?.cwd };
  try {
    return await execIn({ ...where, path: req.path, env, stdin: req.stdin });
  } catch (e) {
    if (!(e instanceof NativeError) || e.errno === 0) throw e;
    const code = errnoName(e.errno);
    throw Object.assign(new Error(`spawn ${req.path} ${code}`), { code, errno: -e.errno, cause: e });
  }
}

/** The child's environment: the variables that have a value. */
function definedEnv(vars: Record<string, string | undefined>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(vars)) if (v !== undefined) env[k] = v;
  return env;
}

function errnoName(errno: number): string {
  return Object.entries(osConstants.errno).find(([, n]) => n === errno)?.[0] ?? `errno ${errno}`;
}

async function execOnce(req: ExecRequest): Promise<InvocationOutput> {
  if (req.netns !== undefined || req.caller !== undefined) return execWhere(req);
  // Loaded on first use: a plugin process that never execs another spares its start-up the module.
  // (require, not import(): the bundled plugin entry runs as a vm.Script, which has no dynamic import.)
  requireBuiltin ??= createRequire(import.meta.url);
  const { spawn } = requireBuiltin('node:child_process') as typeof import('node:child_process');
  return new Promise((resolve, reject) => {
    const env = definedEnv(req.env);
    const child = spawn(req.path, [], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let settled = false;
    const settle = (fn: () => void): void => {
      if (settled) return;
      settled = true;
      if (timer) clearTimeout(timer);
      fn();
    };
    const timer =
      req.timeoutMs && req.timeoutMs > 0
        ? setTimeout(() => {
            child.kill('SIGKILL');
            // A grandchild may keep the pipes open: do not wait for them.
            child.stdout.destroy();
            child.stderr.destroy();
            const stderr = Buffer.concat(err).toString('utf8');
            if (stderr !== '') req.onStderr?.(stderr);
            settle(() =>
              reject(
                new CniError(
                  ErrorCode.Internal,
                  `plugin ${req.label ?? req.path} did not finish within ${req.timeoutMs} ms and was killed`,
                ),
              ),
            );
          }, req.timeoutMs)
        : undefined;
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    child.on('error', (e) => settle(() => reject(e)));
    child.stdin.on('error', () => undefined); // a plugin that exits without reading stdin
    child.on('close', (code, signal) => {
      settle(() =>
        resolve({
          exitCode: code ?? (signal ? 128 + (osConstants.signals[signal] ?? 0) : 1),
          stdout: Buffer.concat(out).toString('utf8'),
          stderr: Buffer.concat(err).toString('utf8'),
        }),
      );
    });
    child.stdin.end(typeof req.stdin === 'string' ? req.stdin : Buffer.from(req.stdin));
  });
}
