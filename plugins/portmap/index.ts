// The portmap plugin: host ports forwarded to a pod (runtimeConfig.portMappings), chained after the
// plugin that made its interface, like the reference on its nftables backend
// (https://github.com/containernetworking/plugins/tree/main/plugins/meta/portmap) but with every
// pod's ports as elements of node-wide nf_tables maps. Behaviour and differences: ./README.md.
import { definePlugin } from '../../src/skel/define-plugin.js';
import { withRollback } from '../../src/skel/rollback.js';
import type { PluginContext } from '../../src/skel/types.js';
import type { Result } from '../../src/spec/result.js';
import { CniError, ErrorCode, NativeError } from '../../src/spec/errors.js';
import * as native from '../../src/native.js';
import { checkBackend, portmapConfigSchema, type PortmapConfig } from './config.js';
import { delReferenceObjects, gcReferenceObjects } from '../../src/migration/reference.js';
import { addRequest, containerIps, type Owner } from './plan.js';

function owner(conf: PortmapConfig, ctx: PluginContext): Owner {
  return { hostNetns: ctx.hostNetns, network: conf.name, containerId: ctx.containerId, ifname: ctx.ifname };
}

function mappings(conf: PortmapConfig) {
  return conf.runtimeConfig?.portMappings ?? [];
}

async function add(conf: PortmapConfig, ctx: PluginContext): Promise<Result> {
  checkBackend(conf);
  const prev = ctx.prevResult;
  if (!prev) throw new CniError(ErrorCode.InvalidNetworkConfig, 'must be called as chained plugin');
  if (!mappings(conf).length) return prev;
  const ips = containerIps(prev, ctx.ifname);
  if (!ips.length) return prev;
  return withRollback(async (rb) => {
    // Whatever part of the ADD got done is undone with the attachment's elements.
    const req = addRequest(conf, owner(conf, ctx), ips);
    rb.push(() => native.portmapDel(req));
    let done: native.PortmapAddResult;
    try {
      done = await native.portmapAdd(req);
    } catch (e) {
      // A host port held by another attachment: the batch was refused whole, nothing was added.
      if (e instanceof NativeError && e.kind === native.FailureKind.Exists) {
        throw new CniError(ErrorCode.InvalidNetworkConfig, e.message, undefined, { cause: e });
      }
      throw e;
    }
    // As the reference, a failure to delete stale conntrack entries is only logged.
    if (done.conntrackError) ctx.log(`portmap: could not delete UDP conntrack entries: ${done.conntrackError}`);
    return prev;
  }, ctx.log);
}

/**
 * DEL hands over what it knows: with prevResult and portMappings the elements go by key; without
 * them they are found by their owner, so DEL needs neither.
 */
async function del(conf: PortmapConfig, ctx: PluginContext): Promise<void> {
  checkBackend(conf);
  await native.portmapDel(addRequest(conf, owner(conf, ctx), ctx.prevResult ? containerIps(ctx.prevResult, ctx.ifname) : []));
  // A pod the reference plugin set up (a node moving to fastcni): its DNAT chains and rules go too.
  await delReferenceObjects(conf.name, ctx, { portmap: true });
}

async function check(conf: PortmapConfig, ctx: PluginContext): Promise<void> {
  checkBackend(conf);
  const prev = ctx.prevResult;
  if (!prev) throw new CniError(ErrorCode.InvalidNetworkConfig, 'must be called as chained plugin');
  if (!mappings(conf).length) return;
  const problems = await native.portmapCheck(addRequest(conf, owner(conf, ctx), containerIps(prev, ctx.ifname)));
  if (problems.length) throw new CniError(ErrorCode.Internal, `portmap: ${problems.join('; ')}`);
}

async function gc(conf: PortmapConfig, ctx: PluginContext): Promise<void> {
  checkBackend(conf);
  await native.portmapGc({
    hostNetns: ctx.hostNetns,
    network: conf.name,
    valid: (ctx.validAttachments ?? []).map((a) => ({ containerId: a.containerID, ifname: a.ifname })),
  });
  await gcReferenceObjects(conf.name, ctx, { portmap: true });
}

export const portmap = definePlugin({
  name: 'portmap',
  about: 'fastcni portmap plugin',
  config: portmapConfigSchema,
  add,
  del,
  check,
  gc,
});

export default portmap;
