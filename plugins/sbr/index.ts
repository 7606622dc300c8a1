// The sbr plugin: source-based routing for a pod interface set up by an earlier plugin of the chain,
// as the reference does (https://github.com/containernetworking/plugins/blob/main/plugins/meta/sbr/main.go).
// All kernel work is one native call per command, in the pod namespace. Behaviour and differences: ./README.md.
import { definePlugin } from '../../src/skel/define-plugin.js';
import type { PluginContext } from '../../src/skel/types.js';
import type { Result } from '../../src/spec/result.js';
import { CniError, ErrorCode, NativeError } from '../../src/spec/errors.js';
import { FailureKind, sbrAdd, sbrDel } from '../../src/native.js';
import { sbrConfigSchema, type SbrConfig } from './config.js';
import { chained, interfaceIps, sbrAddresses } from './plan.js';
import { checkRouting } from './check.js';

async function add(conf: SbrConfig, ctx: PluginContext): Promise<Result> {
  const prev = chained(ctx.prevResult);
  if (!prev.ips?.length) throw new CniError(ErrorCode.InvalidNetworkConfig, `No IP addresses supplied on interface: ${ctx.ifname}`);
  await sbrAdd({
    netns: ctx.paths.local(ctx.netns),
    ifname: ctx.ifname,
    addresses: sbrAddresses(interfaceIps(prev, ctx.ifname), conf.gateways ?? []),
    table: conf.table ?? undefined,
    sourceHints: conf.addSourceHints,
  });
  // Pass the previous result through for the next plugin.
  return prev;
}

async function del(conf: SbrConfig, ctx: PluginContext): Promise<void> {
  // Unlike the reference, which flocks CNI_NETNS opened with O_CREAT (leaving an empty file where
  // the namespace was) and then fails: a namespace that is gone took its rules and tables with it.
  if (!ctx.netns) return;
  try {
    await sbrDel({
      netns: ctx.paths.local(ctx.netns),
      ifname: ctx.ifname,
      addresses: ctx.prevResult ? interfaceIps(ctx.prevResult, ctx.ifname).map((ip) => ip.address) : [],
      flushTables: conf.table == null,
    });
  } catch (e) {
    if (e instanceof NativeError && e.kind === FailureKind.NetnsGone) return;
    throw e;
  }
}

export const sbr = definePlugin({
  name: 'sbr',
  about: 'fastcni sbr plugin (source-based routing)',
  config: sbrConfigSchema,
  add,
  del,
  check: checkRouting,
});

export default sbr;
