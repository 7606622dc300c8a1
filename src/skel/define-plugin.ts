// The plugin skeleton: CNI_* env and stdin in, validation and dispatch, the result or error out (reference pkg/skel).
import { CniError, ErrorCode } from '../spec/errors.js';
import { netConfSchema } from '../spec/net-conf.js';
import { parseWithSchema } from '../spec/zod-errors.js';
import { canonicalizeKeys } from '../spec/case-keys.js';
import { resultForVersion } from '../spec/result-convert.js';
import { formatResult, resultToGoJson } from '../spec/result-print.js';
import { splitCniArgs } from '../spec/cni-args.js';
import { ALL_VERSIONS } from '../spec/versions.js';
import { checkEnv, type Command } from './env-rules.js';
import { checkVersion } from './version-rules.js';
import { checkNotHostNetns, netnsCheckDisabled } from './netns-check.js';
import { aboutOutput, errorOutput, versionOutput } from './output.js';
import { decodeConfigVersion, readRequestConfig, type RequestConfig } from './read-config.js';
import { ConfigMemo } from './config-memo.js';
import { OWN_PATHS, type PathView } from './caller-paths.js';
import { readPrevResult } from './prev-result.js';
import type { DirectOutput, Invocation, InvocationOutput, Plugin, PluginContext, PluginDefinition } from './types.js';
import { timePhase } from '../phases.js';
import { fault, FAULTS_ENABLED, withFaults } from '../faults.js';

const COMMANDS: readonly string[] = ['ADD', 'DEL', 'CHECK', 'GC', 'STATUS'];
/** Commands after which the reference checks CNI_NETNS against its own namespace (we check before). */
const NETNS_CHECKED: readonly Command[] = ['ADD', 'DEL'];

function toBytes(stdin: Uint8Array | string): Uint8Array {
  return typeof stdin === 'string' ? Buffer.from(stdin, 'utf8') : stdin;
}

/** No CNI_COMMAND and no attachment variables: someone ran the plugin by hand. */
function isBareInvocation(env: Record<string, string | undefined>): boolean {
  return !env.CNI_COMMAND && !env.CNI_CONTAINERID && !env.CNI_NETNS && !env.CNI_IFNAME;
}

/** The phase a call is timed as ("bridge.ADD"): the plugin commands only, not VERSION or typos. */
function phaseOf(plugin: string, env: Record<string, string | undefined>): string | undefined {
  const cmd = env.CNI_COMMAND ?? '';
  return COMMANDS.includes(cmd) ? `${plugin}.${cmd}` : undefined;
}

/** Define a plugin: hand over its name, config schema and handlers; get something to invoke. */
export function definePlugin<C>(def: PluginDefinition<C>): Plugin<C> {
  const supported = def.supportedVersions ?? ALL_VERSIONS;
  const about = def.about || `CNI plugin ${def.name}`;
  const memo = new ConfigMemo<C>();
  return {
    name: def.name,
    definition: def,
    async invoke(inv: Invocation): Promise<InvocationOutput> {
      const logs: string[] = [];
      let out: InvocationOutput;
      try {
        const go = () => run(def, supported, about, memo, inv, (line) => void logs.push(`${line}\n`), 'text');
        const phase = phaseOf(def.name, inv.env);
        const done = await withFaults(inv.env, () => (phase ? timePhase(phase, go) : go()));
        out = { exitCode: done.exitCode, stdout: done.stdout, stderr: logs.join('') + done.stderr };
      } catch (e) {
        out = errorOutput(e, logs.join(''));
      }
      return reported(inv.paths, out);
    },
    async invokeDirect(inv: Invocation, log: (line: string) => void): Promise<DirectOutput> {
      const go = () => run(def, supported, about, memo, inv, log, 'json');
      const phase = phaseOf(def.name, inv.env);
      return withFaults(inv.env, () => (phase ? timePhase(phase, go) : go()));
    },
  };
}

/** The output with the caller's strings for the paths the plugin opened in its own form. */
function reported(paths: PathView | undefined, out: InvocationOutput): InvocationOutput {
  if (!paths) return out;
  return { exitCode: out.exitCode, stdout: paths.reported(out.stdout), stderr: paths.reported(out.stderr) };
}

async function run<C>(
  def: PluginDefinition<C>,
  supported: readonly string[],
  about: string,
  memo: ConfigMemo<C>,
  inv: Invocation,
  log: (line: string) => void,
  form: 'text' | 'json',
): Promise<InvocationOutput & DirectOutput> {
  const env = inv.env;
  let cmd: string;
  try {
    cmd = checkEnv(env);
  } catch (e) {
    // A person running the binary by hand gets the about text, like the reference; a caller that set
    // up an attachment but forgot CNI_COMMAND gets code 4, which is what it needs to see.
    if (isBareInvocation(env) && e instanceof CniError && e.code === ErrorCode.InvalidEnvironment) {
      return { exitCode: 0, stdout: '', stderr: aboutOutput(about, supported) };
    }
    throw e;
  }
  if (cmd === 'VERSION') return { exitCode: 0, stdout: versionOutput(supported), stderr: '' };

  const stdin = toBytes(inv.stdin);
  // Long-lived processes see the same config bytes again and again: reuse what was decoded and
  // validated from them (only successful validations are kept, and every check that depends on
  // the command or the environment still runs below, in the same order).
  const hit = memo.get(stdin);
  const { raw, canonical }: RequestConfig = hit ?? readRequestConfig(stdin);
  if (!COMMANDS.includes(cmd)) throw new CniError(ErrorCode.InvalidEnvironment, `unknown CNI_COMMAND: ${cmd}`);
  const command = cmd as Command;
  const version = decodeConfigVersion(canonical);
  checkVersion(command, version, supported);

  const common = hit ? hit.common : parseWithSchema(netConfSchema, canonical);
  const config = hit ? hit.config : parseWithSchema(def.config, canonicalizeKeys(canonical, def.config));
  if (!hit) memo.set(stdin, { raw, canonical, common, config });
  const prevResult = readPrevResult(common.prevResult, version);
  const attachments = common['cni.dev/valid-attachments'] ?? common['cni.dev/attachments'];

  const netns = env.CNI_NETNS ?? '';
  const paths = inv.paths ?? OWN_PATHS;
  if (NETNS_CHECKED.includes(command) && !netnsCheckDisabled(env.CNI_NETNS_OVERRIDE)) {
    await checkNotHostNetns(paths.local(netns), inv.hostNetns);
  }

  const ctx: PluginContext = {
    command,
    containerId: env.CNI_CONTAINERID ?? '',
    netns,
    ifname: env.CNI_IFNAME ?? '',
    args: splitCniArgs(env.CNI_ARGS),
    path: (env.CNI_PATH ?? '').split(':').filter((p) => p !== ''),
    hostNetns: inv.hostNetns,
    paths,
    loadPlugin: inv.loadPlugin,
    env,
    rawConfig: raw,
    stdin,
    cniVersion: version,
    prevResult,
    validAttachments: command === 'GC' ? attachments?.map((a) => ({ containerID: a.containerID, ifname: a.ifname })) : undefined,
    log,
  };

  switch (command) {
    case 'ADD': {
      const result = await def.add(config, ctx);
      if (FAULTS_ENABLED) fault(`${def.name}.ADD`);
      const versioned = resultForVersion(result, version);
      // 'json': the object the text would parse back to, for an in-process delegating caller.
      if (form === 'json') return { exitCode: 0, stdout: '', stderr: '', json: resultToGoJson(versioned, version) };
      return { exitCode: 0, stdout: formatResult(versioned, version), stderr: '' };
    }
    case 'DEL':
      await def.del(config, ctx);
      if (FAULTS_ENABLED) fault(`${def.name}.DEL`);
      break;
    case 'CHECK':
      await def.check?.(config, ctx);
      break;
    case 'GC':
      await def.gc?.(config, ctx);
      break;
    case 'STATUS':
      await def.status?.(config, ctx);
      break;
  }
  return { exitCode: 0, stdout: '', stderr: '' };
}
