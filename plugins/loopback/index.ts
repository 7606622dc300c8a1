// The loopback plugin: brings `lo` up in the pod, as the reference does
// (https://github.com/containernetworking/plugins/blob/main/plugins/main/loopback/loopback.go).
// CNI_IFNAME and config fields are ignored. Behaviour and differences: ./README.md.
import { z } from 'zod';
import { definePlugin } from '../../src/skel/define-plugin.js';
import type { PluginContext } from '../../src/skel/types.js';
import type { Result } from '../../src/spec/result.js';
import { CniError, ErrorCode, NativeError } from '../../src/spec/errors.js';
import { FailureKind, loopbackSet, podInspect } from '../../src/native.js';
import { ipFamily } from '../../src/net/ip.js';

const loopbackConfig = z.object({}).loose();
type LoopbackConfig = z.infer<typeof loopbackConfig>;

function isLoopbackCidr(cidr: string): boolean {
  return cidr.startsWith('127.') || cidr === '::1/128';
}

async function add(_conf: LoopbackConfig, ctx: PluginContext): Promise<Result> {
  const lo = await loopbackSet(ctx.paths.local(ctx.netns), true);
  const stray = lo.addresses.filter((a) => !isLoopbackCidr(a));
  if (stray.length) throw new CniError(ErrorCode.Internal, `loopback interface has non-loopback addresses: ${stray.join(', ')}`);
  // Chained after another plugin: pass its result through unchanged.
  if (ctx.prevResult) return ctx.prevResult;
  const v4 = lo.addresses.find((a) => ipFamily(a) === 4);
  const v6 = lo.addresses.find((a) => ipFamily(a) === 6);
  const ips = [v4, v6].filter((a): a is string => a !== undefined).map((address) => ({ address, interface: 0 }));
  const result: Result = { interfaces: [{ name: 'lo', mac: '00:00:00:00:00:00', sandbox: ctx.netns }] };
  if (ips.length) result.ips = ips;
  return result;
}

async function del(_conf: LoopbackConfig, ctx: PluginContext): Promise<void> {
  if (!ctx.netns) return;
  try {
    await loopbackSet(ctx.paths.local(ctx.netns), false);
  } catch (e) {
    if (e instanceof NativeError && (e.kind === FailureKind.NetnsGone || e.kind === FailureKind.NotFound)) return;
    throw e;
  }
}

async function check(_conf: LoopbackConfig, ctx: PluginContext): Promise<void> {
  const state = await podInspect({ hostNetns: ctx.hostNetns, podNetns: ctx.paths.local(ctx.netns), ifname: 'lo' });
  if (!state.container?.up) throw new CniError(ErrorCode.Internal, 'loopback interface is down');
}

export const loopback = definePlugin({
  name: 'loopback',
  about: 'fastcni loopback plugin',
  config: loopbackConfig,
  add,
  del,
  check,
});

export default loopback;
