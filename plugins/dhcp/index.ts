// The dhcp IPAM plugin: asks `fastcni dhcp-daemon` for a lease on the pod's interface and returns
// it, as the reference plugin asks its daemon
// (https://github.com/containernetworking/plugins/blob/main/plugins/ipam/dhcp/main.go). The DHCP
// work happens in the daemon, which keeps renewing the lease until DEL. Fields: ./README.md.
import { isAbsolute, resolve } from 'node:path';
import { definePlugin } from '../../src/skel/define-plugin.js';
import type { PluginContext } from '../../src/skel/types.js';
import type { Result } from '../../src/spec/result.js';
import { CniError, ErrorCode } from '../../src/spec/errors.js';
import { callDaemon, DaemonUnreachable, type DaemonAnswer, type DaemonRequest, type LeaseKey } from '../../src/dhcp/protocol.js';
import { dhcpConfigSchema, type DhcpConfig } from './config.js';
import { leaseResult, provideOptions } from './plan.js';

/** Ask the daemon; unreachable is code 11 (try again later) with `unreachableCode` overriding it. */
async function ask(conf: DhcpConfig, ctx: PluginContext, req: DaemonRequest, unreachableCode: number = ErrorCode.TryAgainLater) {
  let answer: DaemonAnswer;
  try {
    answer = await callDaemon(ctx.paths.local(conf.daemonSocketPath), req);
  } catch (e) {
    if (e instanceof DaemonUnreachable) {
      throw new CniError(
        unreachableCode,
        `error dialing DHCP daemon at ${conf.daemonSocketPath}: ${e.reason.code ?? e.reason.message} (is \`fastcni dhcp-daemon\` running?)`,
      );
    }
    throw new CniError(ErrorCode.Internal, `DHCP daemon at ${conf.daemonSocketPath}: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (!answer.ok) throw new CniError(answer.error.code, ctx.paths.reported(answer.error.msg), answer.error.details);
  return answer;
}

function leaseKey(conf: DhcpConfig, ctx: PluginContext): LeaseKey {
  return { containerId: ctx.containerId, network: conf.name, ifname: ctx.ifname };
}

/**
 * The pod namespace as the daemon, another process, can open it now, also when this process sees
 * other files than the daemon (a caller in a mount namespace of its own): through our pid's
 * /proc entries — the agent's descriptors (/proc/self/fd/N/…) or our root.
 */
function daemonNetnsPath(ctx: PluginContext): string {
  const local = resolve(ctx.paths.local(ctx.netns));
  const self = '/proc/self/';
  return local.startsWith(self) ? `/proc/${process.pid}/${local.slice(self.length)}` : `/proc/${process.pid}/root${local}`;
}

async function add(conf: DhcpConfig, ctx: PluginContext): Promise<Result> {
  const answer = await ask(conf, ctx, {
    method: 'allocate',
    ...leaseKey(conf, ctx),
    netns: daemonNetnsPath(ctx),
    // As the reference, which makes the path absolute: the daemon runs elsewhere.
    netnsPath: isAbsolute(ctx.netns) ? ctx.netns : resolve(ctx.netns),
    request: conf.request,
    provide: provideOptions(conf, ctx.env.CNI_ARGS),
  });
  if (!answer.lease) throw new CniError(ErrorCode.Internal, 'the DHCP daemon returned no lease');
  return leaseResult(answer.lease, conf);
}

/** Release the lease; the daemon sends DHCPRELEASE while the interface is still there. */
async function del(conf: DhcpConfig, ctx: PluginContext): Promise<void> {
  await ask(conf, ctx, { method: 'release', ...leaseKey(conf, ctx) });
}

/**
 * Unlike the reference, whose CHECK acquires a lease when none is held, CHECK only asks whether the
 * daemon holds one, and that its address is the one prevResult has (spec: CHECK reports, it does
 * not repair).
 */
async function check(conf: DhcpConfig, ctx: PluginContext): Promise<void> {
  const answer = await ask(conf, ctx, { method: 'lookup', ...leaseKey(conf, ctx) });
  const lease = answer.lease;
  if (!lease) throw new CniError(ErrorCode.Internal, `the DHCP daemon holds no lease for ${ctx.containerId}/${conf.name}/${ctx.ifname}`);
  const want = leaseResult(lease, conf).ips?.[0]?.address;
  const prev = ctx.prevResult?.ips?.map((i) => i.address) ?? [];
  if (ctx.prevResult && want && !prev.includes(want)) {
    throw new CniError(ErrorCode.Internal, `the DHCP lease's address ${want} is not in prevResult (${prev.join(', ') || 'none'})`);
  }
}

/** GC: the daemon releases this network's leases whose attachment is not valid any more. */
async function gc(conf: DhcpConfig, ctx: PluginContext): Promise<void> {
  await ask(conf, ctx, {
    method: 'gc',
    network: conf.name,
    valid: (ctx.validAttachments ?? []).map((a) => ({ containerId: a.containerID, ifname: a.ifname })),
  });
}

/** STATUS: not available (50) while the daemon cannot be reached, as the spec's example says. */
async function status(conf: DhcpConfig, ctx: PluginContext): Promise<void> {
  await ask(conf, ctx, { method: 'ping' }, ErrorCode.PluginNotAvailable);
}

export const dhcp = definePlugin({
  name: 'dhcp',
  about: 'fastcni dhcp IPAM plugin',
  config: dhcpConfigSchema,
  add,
  del,
  check,
  gc,
  status,
});

export default dhcp;
