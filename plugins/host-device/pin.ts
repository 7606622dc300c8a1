// Where host-device pins the temporary namespace it moves a device through (native/core/src/kernel/
// hostdev.rs): <dataDir>/<containerID>_<ifname>, bind-mounted for the length of the move in the
// serving process's mount namespace (the runtime's, or the agent's, which outlive a plugin call). A pin that outlives its call marks a process killed
// mid-move, with the device possibly still inside: the attachment's next ADD or DEL (inside their
// native call), or a GC that no longer counts it, moves the device back to the node and unpins it.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import * as native from '../../src/native.js';
import type { PluginContext } from '../../src/skel/types.js';
import { fileIn } from '../../src/spec/file-name.js';
import type { HostDeviceConfig } from './config.js';

/** Where pins go when the config names no dataDir: they last no longer than a boot. */
export const DEFAULT_DATA_DIR = '/run/fastcni/host-device';

function dataDir(conf: HostDeviceConfig): string {
  return conf.dataDir || DEFAULT_DATA_DIR;
}

function pinName(containerId: string, ifname: string): string {
  return `${containerId}_${ifname}`;
}

/** The attachment's pin, for hostDeviceAdd / hostDeviceDel. */
export function pinOf(conf: HostDeviceConfig, ctx: PluginContext): string {
  return fileIn(dataDir(conf), pinName(ctx.containerId, ctx.ifname), 'CNI_CONTAINERID and CNI_IFNAME');
}

async function recover(ctx: PluginContext, pin: string): Promise<void> {
  const { restored } = await native.hostDeviceRecover({ hostNetns: ctx.hostNetns, pin });
  if (restored.length) ctx.log(`${pin}: an interrupted move left ${restored.join(', ')} there: moved back to the node`);
}

/** Move back what a killed move of this attachment left pinned (DEL without the pod's namespace). */
export function recoverPinned(conf: HostDeviceConfig, ctx: PluginContext): Promise<void> {
  return recover(ctx, pinOf(conf, ctx));
}

/** GC: move back what killed moves of attachments no longer valid left pinned. */
export async function recoverStalePins(conf: HostDeviceConfig, ctx: PluginContext): Promise<void> {
  const dir = dataDir(conf);
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return; // no pin was ever made here
  }
  const valid = new Set((ctx.validAttachments ?? []).map((a) => pinName(a.containerID, a.ifname)));
  for (const name of names.filter((n) => !valid.has(n))) await recover(ctx, join(dir, name));
}
