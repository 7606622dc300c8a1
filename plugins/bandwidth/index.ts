// The bandwidth plugin: limits a pod's traffic with tbf qdiscs on its host-side veth and on an IFB
// device, chained after the plugin that made the veth, as the reference does
// (https://github.com/containernetworking/plugins/tree/v1.1.1/plugins/meta/bandwidth). Fields,
// behaviour and differences: ./README.md.
import { createHash } from 'node:crypto';
import { definePlugin } from '../../src/skel/define-plugin.js';
import type { PluginContext } from '../../src/skel/types.js';
import type { Result } from '../../src/spec/result.js';
import { CniError, ErrorCode } from '../../src/spec/errors.js';
import { ALL_VERSIONS } from '../../src/spec/index.js';
import * as native from '../../src/native.js';
import { bandwidthConfigSchema, shaping, type BandwidthConfig } from './config.js';

/**
 * The IFB's name: `bwp` and the first hex digits of sha512(network + containerID), 15 characters,
 * the reference's name (getIfbDeviceName), so that either implementation's DEL removes the other's.
 */
export function ifbName(network: string, containerId: string): string {
  return `bwp${createHash('sha512')
    .update(network + containerId)
    .digest('hex')}`.slice(0, 15);
}

function chained(ctx: PluginContext, what: string): Result {
  if (!ctx.prevResult) throw new CniError(ErrorCode.Internal, `must be called as ${what}`);
  return ctx.prevResult;
}

function request(conf: BandwidthConfig, ctx: PluginContext, prev: Result): native.BandwidthRequest {
  return {
    hostNetns: ctx.hostNetns,
    podNetns: ctx.paths.local(ctx.netns),
    ifname: ctx.ifname,
    hostInterfaces: (prev.interfaces ?? []).filter((i) => !i.sandbox).map((i) => i.name),
    ...shaping(conf),
    ifb: ifbName(conf.name, ctx.containerId),
  };
}

async function add(conf: BandwidthConfig, ctx: PluginContext): Promise<Result> {
  const { ingress, egress } = shaping(conf);
  // Nothing to limit: the previous result goes through unchanged.
  if (!ingress && !egress) return ctx.prevResult ?? {};
  const prev = chained(ctx, 'chained plugin');
  const req = request(conf, ctx, prev);
  const made = await native.bandwidthAdd(req);
  if (!made.ifbMac) return prev;
  return { ...prev, interfaces: [...(prev.interfaces ?? []), { name: req.ifb, mac: made.ifbMac }] };
}

async function del(conf: BandwidthConfig, ctx: PluginContext): Promise<void> {
  // The host veth's qdiscs go with the veth; only the IFB is ours to remove (gone already is fine).
  await native.linkDel(ctx.hostNetns, ifbName(conf.name, ctx.containerId));
}

/** Why one shaped direction differs from what ADD sets (messages as the reference's CHECK), or undefined. */
function mismatch(st: native.ShapeState): string | undefined {
  if (!st.link) return 'get ifb device: Link not found';
  const { expected: want, actual: got } = st;
  if (!st.rootKind) return `Failed to find qdisc on ${st.link}`;
  if (!got) return `root qdisc of ${st.link} is ${st.rootKind}, not tbf`;
  for (const [field, label] of [
    ['rate', 'Rate'],
    ['limit', 'Limit'],
    ['buffer', 'Buffer'],
  ] as const) {
    if (got[field] !== want[field]) return `${label} doesn't match on ${st.link} (${got[field]} != ${want[field]})`;
  }
  return undefined;
}

async function check(conf: BandwidthConfig, ctx: PluginContext): Promise<void> {
  const prev = chained(ctx, 'a chained plugin');
  const req = request(conf, ctx, prev);
  if (!req.ingress && !req.egress) return;
  const state = await native.bandwidthInspect(req);
  for (const [dir, st] of [
    ['ingress', state.ingress],
    ['egress', state.egress],
  ] as const) {
    const why = st && mismatch(st);
    if (why) throw new CniError(ErrorCode.Internal, `${dir}: ${why}`);
  }
}

export const bandwidth = definePlugin({
  name: 'bandwidth',
  about: 'fastcni bandwidth plugin',
  // as the reference: from 0.3.0 (a chained plugin needs prevResult)
  supportedVersions: ALL_VERSIONS.filter((v) => !v.startsWith('0.1.') && !v.startsWith('0.2.')),
  config: bandwidthConfigSchema,
  add,
  del,
  check,
});

export default bandwidth;
