// IPAM delegation for an upper plugin, and a meta plugin's delegation to a main plugin: find the
// delegate in CNI_PATH exactly as libcni does (in the caller's file system), run it in-process when
// the file found is one of ours and the context's plugin table has its type, exec it where the
// caller would have otherwise; either way its output is read as an exec'd plugin's would be, and
// results come back in the newest form.
import { CniError, ErrorCode, toCniError } from '../spec/errors.js';
import { toCurrentResult } from '../spec/result-convert.js';
import type { Invocation, InvocationOutput, PluginContext } from '../skel/types.js';
import type { Result } from '../spec/result.js';
import { execPlugin } from '../runtime/exec-plugin.js';
import { findInPath, isOurPlugin } from '../runtime/plugin-lookup.js';
import { timePhase } from '../phases.js';
import { fault } from '../faults.js';

/** A plugin config that may name an IPAM plugin. */
export type WithIpam = { ipam?: { type?: string | undefined } | undefined };

/** The type of a plugin config's IPAM plugin, when one is configured (an empty type counts as none). */
export function ipamTypeOf(conf: WithIpam): string | undefined {
  return conf.ipam?.type || undefined;
}

/** The verbs an upper plugin forwards to its IPAM plugin. */
export type DelegateCommand = 'ADD' | 'DEL' | 'CHECK' | 'GC' | 'STATUS';

/** What delegation needs from the caller's context (a PluginContext has all of it). */
export type DelegateContext = Pick<PluginContext, 'env' | 'stdin' | 'hostNetns' | 'paths' | 'loadPlugin' | 'path' | 'cniVersion' | 'log'>;

/** Exec a plugin binary (the runtime's exec: "text file busy" retried like libcni); stderr lines to the log. */
function execDelegate(path: string, inv: Invocation, log: (line: string) => void): Promise<InvocationOutput> {
  return execPlugin({
    path,
    env: inv.env,
    stdin: inv.stdin,
    // In the agent, the caller's namespaces, root and working directory when they are not the
    // agent's: the delegate runs where a runtime would have run it, and `path` means what it
    // means there.
    ...(inv.hostNetns !== undefined ? { netns: inv.hostNetns } : {}),
    ...(inv.paths?.caller !== undefined ? { caller: inv.paths.caller } : {}),
    onStderr: (text) => {
      for (const line of text.split('\n')) if (line !== '') log(line);
    },
  });
}

/** Turn a failed delegate's output into a CniError as libcni does, naming the plugin when the output is unusable. */
function delegateError(type: string, out: InvocationOutput): CniError {
  const stdout = out.stdout.trim();
  if (stdout === '') {
    const stderr = out.stderr.trim();
    return new CniError(
      ErrorCode.Internal,
      stderr
        ? `plugin ${JSON.stringify(type)} failed: ${JSON.stringify(stderr)}`
        : `plugin ${JSON.stringify(type)} failed with no error message (exit status ${out.exitCode})`,
    );
  }
  try {
    const e = JSON.parse(stdout) as { code?: unknown; msg?: unknown; details?: unknown };
    if (typeof e === 'object' && e !== null && typeof e.code === 'number') {
      return new CniError(
        e.code,
        typeof e.msg === 'string' ? e.msg : '',
        typeof e.details === 'string' && e.details !== '' ? e.details : undefined,
      );
    }
  } catch {
    // fall through
  }
  return new CniError(
    ErrorCode.Internal,
    `plugin ${JSON.stringify(type)} failed but error parsing its diagnostic message ${JSON.stringify(stdout)}`,
  );
}

/**
 * The error an exec'd delegate's output would have given, for an error thrown in-process: what
 * errorOutput prints and delegateError reads back — code, msg, details when non-empty.
 */
function directError(e: unknown): CniError {
  const j = toCniError(e).toJSON();
  return new CniError(j.code, j.msg, j.details !== undefined && j.details !== '' ? j.details : undefined);
}

/**
 * Run the delegate for one verb: after a zero exit, its output — printed text, or for our own
 * plugins run in-process the result as a JSON object (no print and re-parse) — else its error.
 */
async function runDelegate(
  type: string,
  cmd: DelegateCommand,
  ctx: DelegateContext,
): Promise<{ stdout: string; json?: Record<string, unknown> }> {
  const path = await findInPath(type, ctx.path, ctx.paths);
  const inv: Invocation = {
    env: { ...ctx.env, CNI_COMMAND: cmd },
    stdin: ctx.stdin,
    ...(ctx.hostNetns !== undefined ? { hostNetns: ctx.hostNetns } : {}),
    paths: ctx.paths,
    ...(ctx.loadPlugin !== undefined ? { loadPlugin: ctx.loadPlugin } : {}),
  };
  // The marker check comes first: a file that is not ours is exec'd even when its type is one we implement.
  const ours = ctx.loadPlugin && (await isOurPlugin(ctx.paths.local(path))) ? await ctx.loadPlugin(type) : undefined;
  if (ours?.invokeDirect) {
    // Same skeleton checks and handler as invoke; log lines as an exec'd plugin's stderr lines.
    const log = (line: string): void => {
      for (const part of `${line}\n`.split('\n')) if (part !== '') ctx.log(part);
    };
    try {
      return await ours.invokeDirect(inv, log);
    } catch (e) {
      throw directError(e);
    }
  }
  let out: InvocationOutput;
  if (ours) {
    out = await ours.invoke(inv);
    for (const line of out.stderr.split('\n')) if (line !== '') ctx.log(line);
  } else {
    out = await execDelegate(path, inv, ctx.log);
  }
  if (out.exitCode !== 0) throw delegateError(type, out);
  return out;
}

/**
 * Who a delegate is to its caller: an IPAM plugin, or the main plugin a meta plugin hands the pod to
 * (flannel's bridge). It names the phases (`ipam.ADD`) and the messages; the call is the same,
 * libcni's invoke.DelegateAdd with the caller's stdin (a meta plugin passes the config it rendered).
 */
interface DelegateRole {
  phase: string;
  name: string;
  label: string;
}
const IPAM: DelegateRole = { phase: 'ipam', name: 'IPAM', label: 'IPAM plugin' };
const MAIN: DelegateRole = { phase: 'delegate', name: 'delegate', label: 'delegate plugin' };

/**
 * ADD on the delegate; its result in the newest form. A result that cannot be read is an error
 * after the delegate has acted (an IPAM plugin reserved its addresses): it gets a DEL before the
 * error is thrown, so that a failed ADD leaves nothing behind whichever step refused the result.
 */
async function addVia(role: DelegateRole, type: string, ctx: DelegateContext): Promise<Result> {
  const out = await timePhase(`${role.phase}.ADD`, () => runDelegate(type, 'ADD', ctx));
  fault(`${role.phase}.ADD`);
  try {
    return readDelegateResult(type, out, ctx.cniVersion, role.label);
  } catch (e) {
    await delVia(role, type, ctx).catch((del: unknown) =>
      ctx.log(`${role.name} DEL after an unusable result failed: ${toCniError(del).message}`),
    );
    throw e;
  }
}

async function delVia(role: DelegateRole, type: string, ctx: DelegateContext): Promise<void> {
  await timePhase(`${role.phase}.DEL`, () => runDelegate(type, 'DEL', ctx));
  fault(`${role.phase}.DEL`);
}

/** ADD on the IPAM plugin; its result in the newest form (released again if it cannot be read). */
export async function ipamAdd(type: string, ctx: DelegateContext): Promise<Result> {
  return addVia(IPAM, type, ctx);
}

/** The result an IPAM ADD (or a delegated main plugin's ADD) printed, or in-process returned, converted to the newest form. */
function readDelegateResult(
  type: string,
  out: { stdout: string; json?: Record<string, unknown> },
  cniVersion: string,
  role = 'IPAM plugin',
): Result {
  let raw: unknown = out.json;
  if (raw === undefined) {
    try {
      raw = JSON.parse(out.stdout);
    } catch (e) {
      const what = out.stdout.trim() === '' ? 'no result' : `a result that is not JSON: ${JSON.stringify(out.stdout.slice(0, 200))}`;
      throw new CniError(ErrorCode.DecodingFailure, `${role} ${JSON.stringify(type)} returned ${what}`, undefined, { cause: e });
    }
  }
  if (raw === null) return {};
  if (typeof raw !== 'object' || Array.isArray(raw))
    throw new CniError(ErrorCode.DecodingFailure, `${role} ${JSON.stringify(type)} returned a result that is not an object`);
  // libcni: a result without cniVersion is read in the config's version.
  const version =
    typeof (raw as { cniVersion?: unknown }).cniVersion === 'string' && (raw as { cniVersion: string }).cniVersion !== ''
      ? (raw as { cniVersion: string }).cniVersion
      : cniVersion;
  return toCurrentResult({ ...(raw as object), cniVersion: version }, version, `${role} ${type} result`);
}

/** DEL on the IPAM plugin. */
export async function ipamDel(type: string, ctx: DelegateContext): Promise<void> {
  await delVia(IPAM, type, ctx);
}

/** CHECK on the IPAM plugin. */
export async function ipamCheck(type: string, ctx: DelegateContext): Promise<void> {
  await runDelegate(type, 'CHECK', ctx);
}

/** GC on the IPAM plugin (the request carries cni.dev/valid-attachments). */
export async function ipamGc(type: string, ctx: DelegateContext): Promise<void> {
  await runDelegate(type, 'GC', ctx);
}

/** STATUS on the IPAM plugin. */
export async function ipamStatus(type: string, ctx: DelegateContext): Promise<void> {
  await runDelegate(type, 'STATUS', ctx);
}

/**
 * GC of a plugin config's IPAM plugin, when it names one: a plugin's whole GC when the IPAM
 * plugin's reservations are its only per-attachment state outside the pod.
 */
export async function gcViaIpam(conf: WithIpam, ctx: DelegateContext): Promise<void> {
  const type = ipamTypeOf(conf);
  if (type) await ipamGc(type, ctx);
}

/** STATUS of a plugin config's IPAM plugin, when it names one (else ready). */
export async function statusViaIpam(conf: WithIpam, ctx: DelegateContext): Promise<void> {
  const type = ipamTypeOf(conf);
  if (type) await ipamStatus(type, ctx);
}

/** ADD on the main plugin a meta plugin delegates to, with the config it rendered as `ctx.stdin`. */
export async function delegateAdd(type: string, ctx: DelegateContext): Promise<Result> {
  return addVia(MAIN, type, ctx);
}

/** DEL on the main plugin a meta plugin delegates to, with the config in `ctx.stdin`. */
export async function delegateDel(type: string, ctx: DelegateContext): Promise<void> {
  await delVia(MAIN, type, ctx);
}

/** GC and STATUS of a meta plugin's main-plugin delegate: the very calls made to an IPAM plugin. */
export { ipamGc as delegateGc, ipamStatus as delegateStatus };
