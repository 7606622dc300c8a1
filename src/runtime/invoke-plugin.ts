// Run one plugin for one verb as libcni's invoke package does: find it in CNI_PATH, set the six CNI_*
// variables after the runtime's environment, exec it — or, when the file found is one of our entries,
// call the same plugin in-process — and turn a failure into the error the plugin reported.
import { CniError, ErrorCode } from '../spec/errors.js';
import type { InvocationOutput, PluginLoader } from '../skel/types.js';
import { execPlugin } from './exec-plugin.js';
import { findInPath, isOurPlugin } from './plugin-lookup.js';

/** Every verb libcni sends. */
export type PluginCommand = 'ADD' | 'CHECK' | 'DEL' | 'GC' | 'STATUS' | 'VERSION';

/** One call of one plugin. */
export interface PluginCall {
  type: string;
  command: PluginCommand;
  stdin: Buffer;
  /** attachment parameters; empty for GC and STATUS, as libcni sends them */
  containerId?: string;
  netns?: string;
  ifname?: string;
  args?: ReadonlyArray<readonly [string, string]>;
}

/** How plugins are found and run. */
export interface RunnerOptions {
  pluginPath: string[];
  env?: Record<string, string | undefined>;
  hostNetns?: string;
  timeoutMs?: number;
  inProcess?: boolean;
  loadPlugin?: PluginLoader;
  stderr?: (chunk: string) => void;
}

/** CNI_ARGS as libcni's Args.AsEnv writes it: K=V pairs joined by ";". */
export function stringifyCniArgs(args: ReadonlyArray<readonly [string, string]> | undefined): string {
  return (args ?? []).map(([k, v]) => `${k}=${v}`).join(';');
}

/**
 * The plugin's environment (libcni Args.AsEnv): the base environment, then all six CNI_* variables,
 * ours winning. VERSION gets "dummy" for NETNS, IFNAME and PATH as libcni sets them for old skels.
 */
export function pluginEnv(
  base: Record<string, string | undefined>,
  call: PluginCall,
  pluginPath: readonly string[],
): Record<string, string | undefined> {
  const version = call.command === 'VERSION';
  return {
    ...base,
    CNI_COMMAND: call.command,
    CNI_CONTAINERID: call.containerId ?? '',
    CNI_NETNS: version ? 'dummy' : (call.netns ?? ''),
    CNI_ARGS: stringifyCniArgs(call.args),
    CNI_IFNAME: version ? 'dummy' : (call.ifname ?? ''),
    CNI_PATH: version ? 'dummy' : pluginPath.join(':'),
  };
}

/** libcni's RawExec.pluginErr: the error a failed plugin reported, or why it could not be read. */
export function pluginFailure(out: InvocationOutput): CniError {
  const status = `exit status ${out.exitCode}`;
  if (out.stdout.length === 0) {
    return new CniError(
      ErrorCode.Internal,
      out.stderr.length === 0
        ? `netplugin failed with no error message: ${status}`
        : `netplugin failed: ${JSON.stringify(out.stderr)}: ${status}`,
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(out.stdout) as unknown;
  } catch (e) {
    return new CniError(
      ErrorCode.Internal,
      `netplugin failed but error parsing its diagnostic message ${JSON.stringify(out.stdout)}: ${(e as Error).message}`,
    );
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    return new CniError(
      ErrorCode.Internal,
      `netplugin failed but error parsing its diagnostic message ${JSON.stringify(out.stdout)}: not an error object`,
    );
  }
  const e = parsed as { code?: unknown; msg?: unknown; details?: unknown };
  return new CniError(
    typeof e.code === 'number' ? e.code : 0,
    typeof e.msg === 'string' ? e.msg : '',
    typeof e.details === 'string' && e.details !== '' ? e.details : undefined,
  );
}

/** Finds and runs plugins for a runtime. */
export class PluginRunner {
  constructor(private readonly opts: RunnerOptions) {}

  private writeStderr(text: string): void {
    if (text === '') return;
    if (this.opts.stderr) this.opts.stderr(text);
    else process.stderr.write(text);
  }

  /** Run a plugin; its stdout after a zero exit, its reported error (a CniError) otherwise. */
  async run(call: PluginCall): Promise<string> {
    const path = await findInPath(call.type, this.opts.pluginPath);
    const env = pluginEnv(this.opts.env ?? process.env, call, this.opts.pluginPath);
    const label = JSON.stringify(call.type);
    const load = this.opts.inProcess !== false ? this.opts.loadPlugin : undefined;
    const ours = load && (await isOurPlugin(path)) ? await load(call.type) : undefined;
    let out: InvocationOutput;
    if (ours) {
      const inv = {
        env,
        stdin: call.stdin,
        loadPlugin: load,
        ...(this.opts.hostNetns !== undefined ? { hostNetns: this.opts.hostNetns } : {}),
      };
      out = await withDeadline(ours.invoke(inv), this.opts.timeoutMs, label);
      this.writeStderr(out.stderr);
    } else {
      out = await execPlugin({
        path,
        env,
        stdin: call.stdin,
        label: `${label} (${path})`,
        onStderr: (t) => this.writeStderr(t),
        ...(this.opts.timeoutMs !== undefined ? { timeoutMs: this.opts.timeoutMs } : {}),
      });
    }
    if (out.exitCode !== 0) throw pluginFailure(out);
    return out.stdout;
  }
}

/** An in-process plugin cannot be killed: past the deadline the call fails and its work is left to finish. */
async function withDeadline<T>(p: Promise<T>, ms: number | undefined, label: string): Promise<T> {
  if (!ms || ms <= 0) return p;
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new CniError(ErrorCode.Internal, `plugin ${label} (in-process) did not finish within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([p, deadline]);
  } finally {
    clearTimeout(timer);
  }
}
