// Which node device a host-device config names, read from sysfs as the reference reads it
// (https://github.com/containernetworking/plugins/blob/main/plugins/main/host-device/host-device.go:
// handleDeviceID, hasDpdkDriver, getLink): a PCI address or an auxiliary device to the name of its
// first net device, a kernel path likewise, and whether a PCI device is bound to a user-space
// (DPDK) driver. Every read goes through `root`, the directory playing /sys, so that tests can
// point it at a tree of their own.
import { existsSync } from 'node:fs';
import { readdir, readlink } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { fileIn, pathUnder } from '../../src/spec/file-name.js';
import { CniError, ErrorCode } from '../../src/spec/errors.js';
import type { HostDeviceSelector } from '../../src/native.js';
import { parseHwaddr, type HostDeviceConfig } from './config.js';

/** Drivers that take a PCI network device away from the kernel's network stack. */
export const USERSPACE_DRIVERS: readonly string[] = ['vfio-pci', 'uio_pci_generic', 'igb_uio'];

/** The device a config names: a link to move, or a PCI device in user space (DPDK: nothing to move). */
export type ResolvedDevice =
  | { dpdk: false; field: string; selector: HostDeviceSelector }
  | { dpdk: true; field: string; pciAddress: string };

function invalid(field: string, msg: string): CniError {
  return new CniError(ErrorCode.InvalidNetworkConfig, `${field}: ${msg}`);
}

/** Where a config's PCI or auxiliary device is: runtimeConfig.deviceID (found in either bus) wins over pciBusID. */
function busDevice(conf: HostDeviceConfig, root: string): { field: string; pci?: string; aux?: string } | undefined {
  const id = conf.runtimeConfig?.deviceID;
  if (id) {
    const field = 'runtimeConfig.deviceID';
    if (existsSync(fileIn(join(root, 'bus/pci/devices'), id, field))) return { field, pci: id };
    if (existsSync(fileIn(join(root, 'bus/auxiliary/devices'), id, field))) return { field, aux: id };
    throw invalid(field, `runtime config DeviceID ${id} not found or unsupported`);
  }
  if (!conf.pciBusID) return undefined;
  fileIn(join(root, 'bus/pci/devices'), conf.pciBusID, 'pciBusID');
  return { field: 'pciBusID', pci: conf.pciBusID };
}

/** The name of the driver a PCI device is bound to (the last part of its `driver` link). */
async function pciDriver(root: string, address: string): Promise<string> {
  return basename(await readlink(join(fileIn(join(root, 'bus/pci/devices'), address, 'pciBusID'), 'driver')));
}

/** The first net device (by name, as Go's os.ReadDir sorts) under a sysfs `net` directory. */
async function firstNetDevice(field: string, dir: string): Promise<string> {
  let entries: string[];
  try {
    entries = (await readdir(dir)).sort();
  } catch (e) {
    throw invalid(field, `failed to find host device: failed to read directory ${dir}: ${(e as Error).message}`);
  }
  if (entries[0] === undefined) throw invalid(field, `failed to find host device: failed to find network device in path ${dir}`);
  return entries[0];
}

/** A PCI device's `net` directory, or that of its virtio child (virtio-net puts it one level down). */
async function pciNetDir(field: string, root: string, address: string): Promise<string> {
  const dev = fileIn(join(root, 'bus/pci/devices'), address, field);
  const net = join(dev, 'net');
  if (existsSync(net)) return net;
  const virtio = (await readdir(dev).catch(() => [] as string[])).filter((e) => e.startsWith('virtio')).sort();
  const found = virtio.map((v) => join(dev, v, 'net')).find((d) => existsSync(d));
  if (!found) throw invalid(field, `failed to find host device: no net directory under pci device ${address}`);
  return found;
}

/**
 * The device `conf` names, with `root` playing /sys. Throws code 7 naming the field when sysfs
 * has no such device, or (as the reference) when a PCI device's driver cannot be read.
 */
export async function resolveDevice(conf: HostDeviceConfig, root: string): Promise<ResolvedDevice> {
  const bus = busDevice(conf, root);
  if (bus?.pci) {
    let driver: string;
    try {
      driver = await pciDriver(root, bus.pci);
    } catch (e) {
      throw invalid(bus.field, `error with host device: ${(e as Error).message}`);
    }
    if (USERSPACE_DRIVERS.includes(driver)) return { dpdk: true, field: bus.field, pciAddress: bus.pci };
  }
  // the reference's order when several are given (ours refuses that in the schema)
  if (conf.device) return { dpdk: false, field: 'device', selector: { name: conf.device } };
  if (conf.hwaddr) return { dpdk: false, field: 'hwaddr', selector: { hwaddr: parseHwaddr(conf.hwaddr) } };
  if (conf.kernelpath) {
    const dir = join(pathUnder(root, conf.kernelpath.slice('/sys'.length), 'kernelpath'), 'net');
    return { dpdk: false, field: 'kernelpath', selector: { name: await firstNetDevice('kernelpath', dir) } };
  }
  if (bus?.pci) {
    const dir = await pciNetDir(bus.field, root, bus.pci);
    return { dpdk: false, field: bus.field, selector: { name: await firstNetDevice(bus.field, dir) } };
  }
  if (bus?.aux) {
    const dir = join(fileIn(join(root, 'bus/auxiliary/devices'), bus.aux, bus.field), 'net');
    return { dpdk: false, field: bus.field, selector: { name: await firstNetDevice(bus.field, dir) } };
  }
  throw invalid('device', 'specify either "device", "hwaddr", "kernelpath" or "pciBusID"');
}

/** DEL's question: is the device in user space (nothing was moved)? An unreadable sysfs says no. */
export async function isUserspaceDevice(conf: HostDeviceConfig, root: string): Promise<boolean> {
  try {
    const bus = busDevice(conf, root);
    return bus?.pci !== undefined && USERSPACE_DRIVERS.includes(await pciDriver(root, bus.pci));
  } catch {
    return false;
  }
}
