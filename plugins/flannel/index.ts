// The flannel meta plugin (fastcni-plugin): reads flanneld's subnet.env, renders the delegate's
// config (bridge + host-local by default) as flannel's CNI plugin does, keeps it under dataDir and
// delegates ADD and DEL to it (https://github.com/flannel-io/cni-plugin). Fields and differences: ./README.md.
import { definePlugin } from '../../src/skel/define-plugin.js';
import { withRollback } from '../../src/skel/rollback.js';
import type { PluginContext } from '../../src/skel/types.js';
import type { Result } from '../../src/spec/result.js';
import { CniError, ErrorCode } from '../../src/spec/errors.js';
import { delegateAdd, delegateDel } from '../../src/ipam/delegate.js';
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
    rb.push(() => (before === undefined ? removeScratch(file) : writeScratch(file, before)));
    return delegateAdd(delegate.type, { ...ctx, stdin: Buffer.from(delegate.bytes) });
  }, ctx.log);
}

/** DEL the delegate with exactly the bytes ADD gave it; the file goes only when that succeeded. */
async function del(conf: FlannelConfig, ctx: PluginContext): Promise<void> {
  const file = scratchFile(ctx.paths.local(conf.dataDir), ctx.containerId);
  const bytes = await readScratch(file);
  // nothing was added, or DEL already ran
  if (bytes === undefined) return;
  let type: unknown;
  try {
    type = (JSON.parse(bytes.toString('utf8')) as { type?: unknown }).type;
  } catch (e) {
    // As the reference: the delegate's leftovers stay (a reboot clears them), DEL succeeds, the file stays.
    ctx.log(`failed to parse netconf ${conf.dataDir}/${ctx.containerId}: ${(e as Error).message}`);
    return;
  }
  if (typeof type !== 'string' || type === '') {
    throw new CniError(ErrorCode.Internal, `${conf.dataDir}/${ctx.containerId} names no delegate type: cannot DEL it`);
  }
  await delegateDel(type, { ...ctx, stdin: bytes });
  await removeScratch(file);
}

/** As the reference: nothing to check (the delegate's CHECK would need the ADD result it never saw). */
async function check(): Promise<void> {}

/** flannel, ready to invoke or run as a process entry point. */
export const flannel = definePlugin({
  name: 'flannel',
  about: 'fastcni flannel meta plugin',
  config: flannelConfigSchema,
  add,
  del,
  check,
});
export default flannel;
