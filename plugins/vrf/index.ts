// The vrf plugin (chained): moves the pod interface an earlier plugin made into a VRF of the pod's
// namespace, like the reference (https://github.com/containernetworking/plugins/tree/main/plugins/meta/vrf):
// the VRF found or created, the interface's global IPv6 addresses kept and its routes copied into
// the VRF's table, all in one native call. Behaviour and differences: ./README.md.
import { z } from 'zod';
import { definePlugin } from '../../src/skel/define-plugin.js';
import type { PluginContext } from '../../src/skel/types.js';
import type { Result } from '../../src/spec/result.js';
import { ALL_VERSIONS } from '../../src/spec/versions.js';
import { CniError, ErrorCode, NativeError } from '../../src/spec/errors.js';
import { FailureKind, LinkKind, linkList, vrfAdd, vrfDel } from '../../src/native.js';

/** The reference's VRFNetConf: `vrfname` (required) and `table` (0 or absent: pick one). */
export const vrfConfigSchema = z
  .object({
    vrfname: z.string().min(1, 'configuration is expected to have a valid vrf name').max(15, 'an interface name is at most 15 bytes'),
    table: z.number().int().min(0).max(0xffffffff, 'routing tables go up to 4294967295').default(0),
  })
  .loose();

type VrfConfig = z.infer<typeof vrfConfigSchema>;

function chained(ctx: PluginContext): Result {
  if (!ctx.prevResult) throw new CniError(ErrorCode.InvalidNetworkConfig, 'missing prevResult from earlier plugin');
  return ctx.prevResult;
}

async function add(conf: VrfConfig, ctx: PluginContext): Promise<Result> {
  const prev = chained(ctx);
  await vrfAdd({ netns: ctx.paths.local(ctx.netns), ifname: ctx.ifname, vrfname: conf.vrfname, table: conf.table || undefined });
  return prev;
}

async function del(conf: VrfConfig, ctx: PluginContext): Promise<void> {
  if (!ctx.netns) return;
  try {
    await vrfDel({ netns: ctx.paths.local(ctx.netns), ifname: ctx.ifname, vrfname: conf.vrfname });
  } catch (e) {
    if (e instanceof NativeError && e.kind === FailureKind.NetnsGone) return;
    throw e;
  }
}

/** CHECK: the VRF is there and the interface is its member (the reference computes this and drops the answer). */
async function check(conf: VrfConfig, ctx: PluginContext): Promise<void> {
  chained(ctx);
  const links = await linkList(ctx.paths.local(ctx.netns));
  const vrf = links.find((l) => l.name === conf.vrfname);
  if (!vrf || vrf.kind !== LinkKind.Vrf) throw new CniError(ErrorCode.Internal, `VRF ${conf.vrfname} not found`);
  if (!links.some((l) => l.name === ctx.ifname && l.master === conf.vrfname)) {
    throw new CniError(ErrorCode.Internal, `Failed to find ${ctx.ifname} associated to vrf ${conf.vrfname}`);
  }
}

export const vrf = definePlugin({
  name: 'vrf',
  about: 'fastcni vrf plugin',
  supportedVersions: ALL_VERSIONS.filter((v) => !['0.1.0', '0.2.0', '0.3.0'].includes(v)),
  config: vrfConfigSchema,
  add,
  del,
  check,
});

export default vrf;
