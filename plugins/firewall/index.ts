// The firewall plugin: the reference's iptables backend on nf_tables — forwarding accepted for the
// pod's addresses, an admin chain jumped to first, and the bridge's ingress policy
// (https://github.com/containernetworking/plugins/tree/main/plugins/meta/firewall). Kernel objects:
// native/core/src/kernel/nft/firewall.rs.
import { definePlugin } from '../../src/skel/define-plugin.js';
import type { PluginContext } from '../../src/skel/types.js';
import type { Result } from '../../src/spec/result.js';
import { CniError, ErrorCode } from '../../src/spec/errors.js';
import * as native from '../../src/native.js';
import { addressOf } from '../../src/net/ip.js';
import { requireNftBackend } from './backend.js';
import { firewallConfigSchema, type FirewallConfig } from './config.js';

function fail(msg: string): never {
  throw new CniError(ErrorCode.Internal, msg);
}

/** prevResult, which ADD and CHECK need (the reference's message otherwise). */
function prevResult(ctx: PluginContext): Result {
  return ctx.prevResult ?? fail('missing prevResult from earlier plugin');
}

/** The native request for this attachment, from the config and prevResult. */
function request(conf: FirewallConfig, ctx: PluginContext, prev: Result): native.FirewallRequest {
  const policy = conf.ingressPolicy || 'open';
  const bridge = prev.interfaces?.[0]?.name;
  if (policy !== 'open' && !bridge) {
    // the reference takes the bridge from the first interface of prevResult, as the bridge plugin lists it
    fail(`interface needs to be set for ingress policy "${policy}", make sure to chain "firewall" plugin with "bridge"`);
  }
  return {
    hostNetns: ctx.hostNetns,
    network: conf.name,
    containerId: ctx.containerId,
    ifname: ctx.ifname,
    adminChain: conf.iptablesAdminChainName,
    addresses: (prev.ips ?? []).map((ip) => addressOf(ip.address)),
    ingressPolicy: policy,
    bridge,
  };
}

async function add(conf: FirewallConfig, ctx: PluginContext): Promise<Result> {
  const prev = prevResult(ctx);
  await requireNftBackend(conf, ctx);
  // one native call: a failure leaves nothing of this attachment behind but what DEL removes
  await native.firewallAdd(request(conf, ctx, prev));
  return prev;
}

/**
 * Whatever the backend, DEL removes this attachment's elements (found by their comment, so no
 * prevResult is needed): a firewalld backend never added any, and asking the bus on DEL could fail.
 */
async function del(conf: FirewallConfig, ctx: PluginContext): Promise<void> {
  await native.firewallDel({ hostNetns: ctx.hostNetns, network: conf.name, containerId: ctx.containerId, ifname: ctx.ifname });
}

async function check(conf: FirewallConfig, ctx: PluginContext): Promise<void> {
  const prev = prevResult(ctx);
  await requireNftBackend(conf, ctx);
  const req = request(conf, ctx, prev);
  const seen = await native.firewallInspect(req);
  if (!seen.adminJump) fail(`expected jump to admin chain ${req.adminChain} not found`);
  for (const a of req.addresses) {
    if (!seen.addresses.includes(a)) fail(`expected firewall rules for ${a} not found`);
  }
  if (req.ingressPolicy !== 'open' && !seen.policyBridge) fail(`expected ingress policy for bridge ${req.bridge} not found`);
  if (req.ingressPolicy === 'isolated' && !seen.isolatedBridge) fail(`expected isolation of bridge ${req.bridge} not found`);
}

async function gc(conf: FirewallConfig, ctx: PluginContext): Promise<void> {
  await native.firewallGc({
    hostNetns: ctx.hostNetns,
    network: conf.name,
    valid: (ctx.validAttachments ?? []).map((a) => ({ containerId: a.containerID, ifname: a.ifname })),
  });
}

export const firewall = definePlugin({
  name: 'firewall',
  about: 'fastcni firewall plugin',
  // as the reference: CHECK-era versions only
  supportedVersions: ['0.4.0', '1.0.0', '1.1.0'],
  config: firewallConfigSchema,
  add,
  del,
  check,
  gc,
});

export default firewall;
