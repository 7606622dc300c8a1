// The flannel meta plugin (fastcni-plugin): reads flanneld's subnet.env, renders the delegate's
// config (bridge + host-local by default) as flannel's CNI plugin does, keeps it under dataDir and
// delegates ADD and DEL to it (https://github.com/flannel-io/cni-plugin). Fields and differences: ./README.md.
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { definePlugin } from '../../src/skel/define-plugin.js';
import { withRollback } from '../../src/skel/rollback.js';
import type { PluginContext } from '../../src/skel/types.js';
import type { Result } from '../../src/spec/result.js';
import { CniError, ErrorCode, toCniError } from '../../src/spec/errors.js';
import { goStringify } from '../../src/spec/go-json.js';
import { fault } from '../../src/faults.js';
import { delegateAdd, delegateDel, delegateGc, delegateStatus } from '../../src/ipam/delegate.js';
import { flannelConfigSchema, type FlannelConfig } from './config.js';
import { loadSubnetEnv } from './subnet-env.js';
import { renderDelegate } from './render.js';
import { readScratch, removeScratch, scratchFile, writeScratch } from './scratch.js';

async function add(conf: FlannelConfig, ctx: PluginContext): Promise<Result> {
  const env = await loadSubnetEnv(ctx.paths.local(conf.subnetFile), conf.subnetFile);
  const delegate = renderDelegate(conf, env);
  ctx.log(`delegateAdd: netconf sent to delegate plugin: ${delegate.bytes}`);
  const file = scratchFile(ctx.paths.local(conf.dataDir), ctx.containerId);
  return withRollback(async (rb) => {
    // Keyed by container only, as the reference: a second ADD of the container replaces it; a
    // failed one puts back what was there.
    const before = await readScratch(file);
    await writeScratch(file, delegate.bytes);
    fault('flannel.delegateFile');
    rb.push(() => (before === undefined ? removeScratch(file) : writeScratch(file, before)));
    return delegateAdd(delegate.type, { ...ctx, stdin: Buffer.from(delegate.bytes) });
  }, ctx.log);
}

/** DEL the delegate with exactly the bytes ADD gave it; the file goes only when that succeeded. */
async function del(conf: FlannelConfig, ctx: PluginContext): Promise<void> {
  const file = scratchFile(ctx.paths.local(conf.dataDir), ctx.containerId);
  let bytes = await readScratch(file);
  // nothing was added, or DEL already ran
  if (bytes === undefined) return;
  let type: unknown;
  try {
    type = (JSON.parse(bytes.toString('utf8')) as { type?: unknown }).type;
  } catch (e) {
    // A torn file (the reference writes it in place) names no delegate. Rendered again from
    // subnet.env as ADD rendered it, the delegate's DEL still frees the address, so that the next ADD
    // of the container works. Without subnet.env, as the reference: the delegate's leftovers stay,
    // DEL succeeds, the file stays (GC removes it).
    const torn = `failed to parse netconf ${conf.dataDir}/${ctx.containerId}: ${(e as Error).message}`;
    try {
      const again = renderDelegate(conf, await loadSubnetEnv(ctx.paths.local(conf.subnetFile), conf.subnetFile));
      ctx.log(`${torn}: DEL with the delegate rendered again from ${conf.subnetFile}`);
      bytes = Buffer.from(again.bytes);
      type = again.type;
    } catch (e2) {
      ctx.log(`${torn}; cannot render the delegate again: ${toCniError(e2).message}`);
      return;
    }
  }
  if (typeof type !== 'string' || type === '') {
    throw new CniError(ErrorCode.Internal, `${conf.dataDir}/${ctx.containerId} names no delegate type: cannot DEL it`);
  }
  await delegateDel(type, { ...ctx, stdin: bytes });
  await removeScratch(file);
}

/** As the reference: CHECK does nothing, and the delegate is not asked. */
async function check(): Promise<void> {}

/**
 * GC (CNI 1.1.0, not in the reference): the delegate, rendered as ADD renders it, gets GC with the
 * valid attachments (releasing what it keeps for the others); then the files of containers that no
 * valid attachment names go. Errors are collected and reported after both steps, as GC asks.
 */
async function gc(conf: FlannelConfig, ctx: PluginContext): Promise<void> {
  if (!ctx.validAttachments) return ctx.log('flannel: GC without cni.dev/valid-attachments: nothing removed');
  const errors: string[] = [];
  try {
    const delegate = renderDelegate(conf, await loadSubnetEnv(ctx.paths.local(conf.subnetFile), conf.subnetFile));
    const withValid = { ...JSON.parse(delegate.bytes), 'cni.dev/valid-attachments': ctx.rawConfig['cni.dev/valid-attachments'] };
    await delegateGc(delegate.type, { ...ctx, stdin: Buffer.from(goStringify(withValid, false)) });
  } catch (e) {
    errors.push(`delegate GC: ${toCniError(e).message}`);
  }
  const dir = ctx.paths.local(conf.dataDir);
  const keep = new Set(ctx.validAttachments.map((a) => a.containerID));
  const names = await readdir(dir).catch((e: NodeJS.ErrnoException) => (e.code === 'ENOENT' ? [] : Promise.reject(e)));
  // temporary files too: GC runs while no ADD does
  for (const name of names.filter((n) => !keep.has(n))) {
    try {
      await removeScratch(join(dir, name));
      ctx.log(`flannel: GC removed ${conf.dataDir}/${name}`);
    } catch (e) {
      errors.push(`${conf.dataDir}/${name}: ${toCniError(e).message}`);
    }
  }
  if (errors.length > 0) throw new CniError(ErrorCode.Internal, errors.join('; '));
}

/**
 * STATUS (CNI 1.1.0, not in the reference): not available (50) while subnet.env is missing or
 * incomplete — flanneld has no lease yet, so no ADD could succeed; otherwise the delegate's STATUS.
 */
async function status(conf: FlannelConfig, ctx: PluginContext): Promise<void> {
  const env = await loadSubnetEnv(ctx.paths.local(conf.subnetFile), conf.subnetFile).catch((e: unknown) => {
    throw new CniError(ErrorCode.PluginNotAvailable, toCniError(e).message, undefined, { cause: e });
  });
  const delegate = renderDelegate(conf, env);
  await delegateStatus(delegate.type, { ...ctx, stdin: Buffer.from(delegate.bytes) });
}

/** flannel, ready to invoke or run as a process entry point. */
export const flannel = definePlugin({
  name: 'flannel',
  about: 'fastcni flannel meta plugin',
  config: flannelConfigSchema,
  add,
  del,
  check,
  gc,
  status,
});
export default flannel;
