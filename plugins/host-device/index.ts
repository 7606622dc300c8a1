// The host-device plugin: moves a device of the node into the pod (renamed to CNI_IFNAME, its node
// name kept in its ifalias), optionally addressed by IPAM, and back on DEL, like the reference
// (https://github.com/containernetworking/plugins/blob/main/plugins/main/host-device/host-device.go).
import { definePlugin } from '../../src/skel/define-plugin.js';
import { withRollback } from '../../src/skel/rollback.js';
import type { PluginContext } from '../../src/skel/types.js';
import type { Result } from '../../src/spec/result.js';
import { CniError, ErrorCode, NativeError } from '../../src/spec/errors.js';
import * as native from '../../src/native.js';
import { gcViaIpam, ipamAdd, ipamCheck, ipamDel, ipamTypeOf, statusViaIpam } from '../../src/ipam/delegate.js';
import { planIface } from '../../src/ipam/iface-plan.js';
import { hostDeviceConfigSchema, type HostDeviceConfig } from './config.js';
import { isUserspaceDevice, resolveDevice, type ResolvedDevice } from './sysfs.js';
import { checkDevice } from './check.js';
import { pinOf, recoverPinned, recoverStalePins } from './pin.js';

/** What plays /sys: the node's, as the caller sees it. */
function sysfsRoot(ctx: PluginContext): string {
  return ctx.paths.local('/sys');
}

const ipamType = ipamTypeOf;

/** The device moved into the pod; a node without it is the config's problem (code 7, naming the field). */
async function moveIn(
  conf: HostDeviceConfig,
  dev: Extract<ResolvedDevice, { dpdk: false }>,
  ctx: PluginContext,
): Promise<native.HostDeviceAddResult> {
  try {
    return await native.hostDeviceAdd({
      hostNetns: ctx.hostNetns,
      podNetns: ctx.paths.local(ctx.netns),
      device: dev.selector,
      ifname: ctx.ifname,
      pin: pinOf(conf, ctx),
    });
  } catch (e) {
    if (e instanceof NativeError && e.kind === native.FailureKind.NotFound && e.op === 'host device lookup') {
      throw new CniError(ErrorCode.InvalidNetworkConfig, `${dev.field}: ${e.message}`, undefined, { cause: e });
    }
    throw e;
  }
}

/** The device back to the node; `up` again for a failed ADD's undo, when it was up before. */
function moveOut(conf: HostDeviceConfig, ctx: PluginContext, up = false): Promise<native.HostDeviceDelResult> {
  return native.hostDeviceDel({
    hostNetns: ctx.hostNetns,
    podNetns: ctx.paths.local(ctx.netns),
    ifname: ctx.ifname,
    up,
    pin: pinOf(conf, ctx),
  });
}

async function add(conf: HostDeviceConfig, ctx: PluginContext): Promise<Result> {
  const dev = await resolveDevice(conf, sysfsRoot(ctx));
  const type = ipamType(conf);
  return withRollback(async (rb) => {
    const result: Result = {};
    if (!dev.dpdk) {
      const { link, nodeUp } = await moveIn(conf, dev, ctx);
      rb.push(() => moveOut(conf, ctx, nodeUp));
      result.interfaces = [{ name: link.name, mac: link.mac, sandbox: ctx.netns }];
    }
    if (!type) return result;
    const ipam = await ipamAdd(type, ctx);
    rb.push(() => ipamDel(type, ctx));
    if (!ipam.ips?.length) throw new CniError(ErrorCode.Internal, 'IPAM plugin returned missing IP config');
    const plan = planIface(ipam, 0);
    if (!dev.dpdk) {
      await native.podIfaceConfigure({ podNetns: ctx.paths.local(ctx.netns), ifname: ctx.ifname, iface: plan.iface });
      result.ips = plan.ips;
    } else {
      // nothing in the pod to point at (the reference says interface 0 of no interfaces)
      result.ips = plan.ips.map(({ interface: _i, ...ip }) => ip);
    }
    if (plan.routes.length) result.routes = plan.routes;
    // the config's DNS only: the reference drops IPAM's
    if (conf.dns) result.dns = conf.dns;
    return result;
  }, ctx.log);
}

/**
 * IPAM first, whether or not the pod's namespace is still there (the reference fails without it
 * and never releases the address: containernetworking/plugins#1196), then the device goes back.
 * Without its namespace a physical device is back in the initial namespace already and a virtual
 * one is gone: nothing left to move.
 */
async function del(conf: HostDeviceConfig, ctx: PluginContext): Promise<void> {
  const type = ipamType(conf);
  if (type) await ipamDel(type, ctx);
  if (await isUserspaceDevice(conf, sysfsRoot(ctx))) return;
  // hostDeviceDel first moves back what a killed ADD or DEL left pinned; without a namespace to
  // move from, that is all there is to do
  if (!ctx.netns) return recoverPinned(conf, ctx);
  try {
    await moveOut(conf, ctx);
  } catch (e) {
    if (e instanceof NativeError && e.kind === native.FailureKind.NetnsGone) return;
    throw e;
  }
}

async function check(conf: HostDeviceConfig, ctx: PluginContext): Promise<void> {
  const type = ipamType(conf);
  if (type) await ipamCheck(type, ctx);
  if (!ctx.prevResult) throw new CniError(ErrorCode.Internal, 'Required prevResult missing');
  if (await isUserspaceDevice(conf, sysfsRoot(ctx))) return;
  await checkDevice(ctx);
}

export const hostDevice = definePlugin({
  name: 'host-device',
  about: 'fastcni host-device plugin',
  config: hostDeviceConfigSchema,
  add,
  del,
  check,
  async gc(conf, ctx) {
    await gcViaIpam(conf, ctx);
    await recoverStalePins(conf, ctx);
  },
  status: statusViaIpam,
});

export default hostDevice;
