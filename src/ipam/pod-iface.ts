// DEL of a pod interface that a plugin made inside the pod namespace and configured from an
// optional IPAM result (tap, dummy), as the reference does it (containernetworking/plugins
// plugins/main/{tap,dummy}); their CHECK is check-iface.ts's.
import type { PluginContext } from '../skel/types.js';
import { NativeError } from '../spec/errors.js';
import { FailureKind, linkDel } from '../native.js';
import { ipamDel } from './delegate.js';

/**
 * DEL: IPAM first (the dhcp IPAM sends its release through the link), then the link; a namespace
 * or link that is already gone is success.
 */
export async function delPodIface(ipamType: string | undefined, ctx: PluginContext): Promise<void> {
  if (ipamType) await ipamDel(ipamType, ctx);
  if (!ctx.netns) return;
  try {
    await linkDel(ctx.paths.local(ctx.netns), ctx.ifname);
  } catch (e) {
    if (e instanceof NativeError && e.kind === FailureKind.NetnsGone) return;
    throw e;
  }
}
