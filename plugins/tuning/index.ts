// The tuning plugin: a chained plugin that sets net.* sysctls and the MAC, MTU, promiscuous and
// all-multicast modes and transmit queue length of the pod's interface, and puts the interface's
// original values back on DEL, like the reference
// (https://github.com/containernetworking/plugins/blob/main/plugins/meta/tuning/tuning.go).
import { definePlugin } from '../../src/skel/define-plugin.js';
import { withRollback } from '../../src/skel/rollback.js';
import type { PluginContext } from '../../src/skel/types.js';
import type { Result } from '../../src/spec/result.js';
import { CniError, ErrorCode, NativeError } from '../../src/spec/errors.js';
import * as native from '../../src/native.js';
import { fault } from '../../src/faults.js';
import { DEFAULT_DATA_DIR, nativeSysctls, setsLink, tuningConfigSchema, tuningOf, type TuningConfig } from './config.js';
import { checkAllowlist } from './allowlist.js';
import { backupFile, parseBackup, readBackup, removeBackup, writeBackup } from './backup.js';
import { checkTuning } from './check.js';

/** The attachment's backup file, as this process opens it. */
function backupOf(conf: TuningConfig, ctx: PluginContext): string {
  return backupFile(ctx.paths.local(conf.dataDir || DEFAULT_DATA_DIR), ctx.containerId, ctx.ifname);
}

function requirePrevResult(ctx: PluginContext): Result {
  if (!ctx.prevResult) throw new CniError(ErrorCode.Internal, 'Required prevResult missing');
  return ctx.prevResult;
}

/** prevResult with the new MAC on the interfaces of that name, as the reference's updateResultsMacAddr. */
function withMac(prev: Result, ifname: string, mac: string | undefined): Result {
  if (mac === undefined) return prev;
  return { ...prev, interfaces: prev.interfaces?.map((i) => (i.name === ifname ? { ...i, mac } : i)) };
}

async function add(conf: TuningConfig, ctx: PluginContext): Promise<Result> {
  const t = tuningOf(conf, { stdin: ctx.stdin, ifname: ctx.ifname, cniArgs: ctx.env.CNI_ARGS });
  await checkAllowlist(t.sysctls, ctx);
  const prev = requirePrevResult(ctx);
  const netns = ctx.paths.local(ctx.netns);
  // refused (a name too long for a file, say) before anything is changed
  const backup = setsLink(t.link) ? backupOf(conf, ctx) : undefined;
  return withRollback(async (rb) => {
    // one native call: every key checked again, the sysctls written, the link set; what it changed
    // comes back so that the backup is written from it and a later failure can undo it
    const prior = await native.tuningApply({ netns, ifname: ctx.ifname, sysctls: nativeSysctls(t.sysctls), link: t.link });
    rb.push(() => native.tuningRestore({ netns, ifname: ctx.ifname, sysctls: prior.sysctls, link: prior.link }));
    if (backup) {
      await writeBackup(backup, prior.link);
      fault('tuning.backup');
    }
    return withMac(prev, ctx.ifname, t.macAsGiven);
  }, ctx.log);
}

/** Put back what the backup holds and remove it. Never fails, as the reference's DEL. */
async function del(conf: TuningConfig, ctx: PluginContext): Promise<void> {
  let file: string;
  try {
    file = backupOf(conf, ctx);
  } catch {
    // not a file name in dataDir: the ADD refused it too, so there is nothing to restore
    return;
  }
  let text: string | undefined;
  try {
    text = await readBackup(file);
  } catch (e) {
    ctx.log(`tuning: cannot read ${file}: ${(e as Error).message}`);
    return;
  }
  if (text === undefined) return;
  const saved = parseBackup(text);
  if (saved === undefined) ctx.log(`tuning: ${file} is not a backup; removed`);
  if (saved && ctx.netns) {
    try {
      await native.tuningRestore({ netns: ctx.paths.local(ctx.netns), ifname: ctx.ifname, sysctls: [], link: saved });
    } catch (e) {
      // the namespace gone: nothing left to restore. Anything else: keep the file for a retry.
      if (!(e instanceof NativeError && e.kind === native.FailureKind.NetnsGone)) {
        ctx.log(`tuning: cannot restore ${ctx.ifname}: ${(e as Error).message}`);
        return;
      }
    }
  }
  // unlike the reference, also when the namespace or the link is gone: nothing will restore it
  await removeBackup(file).catch((e: unknown) => ctx.log(`tuning: cannot remove ${file}: ${(e as Error).message}`));
}

async function check(conf: TuningConfig, ctx: PluginContext): Promise<void> {
  const t = tuningOf(conf, { stdin: ctx.stdin, ifname: ctx.ifname, cniArgs: ctx.env.CNI_ARGS });
  requirePrevResult(ctx);
  await checkTuning(t, ctx);
}

export const tuning = definePlugin({
  name: 'tuning',
  about: 'fastcni tuning plugin',
  config: tuningConfigSchema,
  add,
  del,
  check,
});

export default tuning;
