// host-device's config rules and its sysfs lookups, against a fake /sys tree.
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseWithSchema } from '../../src/spec/zod-errors.js';
import { CniError } from '../../src/spec/errors.js';
import { hostDeviceConfigSchema, parseHwaddr, type HostDeviceConfig } from '../../plugins/host-device/config.js';
import { isUserspaceDevice, resolveDevice } from '../../plugins/host-device/sysfs.js';
import { tempDir } from '../helpers/fixtures.js';

const base = { cniVersion: '1.0.0', name: 'hd', type: 'host-device' };

function parse(extra: Record<string, unknown>): HostDeviceConfig {
  return parseWithSchema(hostDeviceConfigSchema, { ...base, ...extra });
}

function refused(extra: Record<string, unknown>): CniError {
  try {
    parse(extra);
  } catch (e) {
    if (e instanceof CniError) return e;
    throw e;
  }
  throw new Error('accepted');
}

describe('host-device config', () => {
  it('needs exactly one way to name the device', () => {
    expect(refused({})).toMatchObject({ code: 7, message: 'specify either "device", "hwaddr", "kernelpath" or "pciBusID"' });
    // Go's zero value: an empty string names nothing
    expect(refused({ device: '' }).code).toBe(7);
    expect(refused({ device: 'eth1', hwaddr: '02:00:00:00:00:01' })).toMatchObject({
      code: 7,
      message: expect.stringMatching(/^hwaddr: the device is already named by "device"/),
    });
    expect(refused({ kernelpath: '/sys/devices/x', runtimeConfig: { deviceID: '0000:00:01.0' } }).message).toMatch(
      /^runtimeConfig\.deviceID: the device is already named by "kernelpath"/,
    );
    // the runtime's deviceID replaces the configured PCI address
    expect(parse({ pciBusID: '0000:00:02.0', runtimeConfig: { deviceID: '0000:00:01.0' } }).pciBusID).toBe('0000:00:02.0');
    expect(parse({ device: 'eth1' }).device).toBe('eth1');
  });

  it('refuses a MAC, kernel path or PCI address it cannot use, naming the field', () => {
    expect(refused({ hwaddr: 'zz:00:00:00:00:01' }).message).toBe('hwaddr: failed to parse MAC address "zz:00:00:00:00:01"');
    expect(refused({ kernelpath: 'devices/pci0000:00' }).message).toMatch(
      /^kernelpath: kernel device path "devices\/pci0000:00" must be absolute/,
    );
    expect(refused({ kernelpath: '/sys/devices/../../etc' }).message).toMatch(/^kernelpath: .* must not contain "\.\."/);
    expect(refused({ pciBusID: '../0000:00:01.0' }).message).toMatch(/^pciBusID: .* is not a device address/);
    expect(refused({ runtimeConfig: { deviceID: '..' } }).message).toMatch(/^runtimeConfig\.deviceID: /);
  });

  it('reads MAC addresses as Go does', () => {
    expect(parseHwaddr('02:AB:00:00:00:01')).toBe('02:ab:00:00:00:01');
    expect(parseHwaddr('02-ab-00-00-00-01')).toBe('02:ab:00:00:00:01');
    expect(parseHwaddr('02ab.0000.0001')).toBe('02:ab:00:00:00:01');
    expect(parseHwaddr('00:00:00:00:fe:80:00:00')).toBe('00:00:00:00:fe:80:00:00');
    for (const bad of ['02:ab:00:00:00', '02:ab-00:00:00:01', '02ab.0000', '', 'x']) expect(parseHwaddr(bad), bad).toBeUndefined();
  });
});

/** A fake /sys: a PCI NIC with its kernel driver, a virtio one, a DPDK-bound one, an auxiliary device. */
function fakeSys(): string {
  const root = tempDir('sysfs');
  const pci = join(root, 'devices/pci0000:00');
  const dev = (addr: string, driver: string, net?: string) => {
    mkdirSync(join(pci, addr), { recursive: true });
    mkdirSync(join(root, 'bus/pci/drivers', driver), { recursive: true });
    symlinkSync(`../../../../bus/pci/drivers/${driver}`, join(pci, addr, 'driver'));
    if (net) mkdirSync(join(pci, addr, net), { recursive: true });
  };
  dev('0000:00:03.0', 'e1000e', 'net/enp0s3');
  mkdirSync(join(pci, '0000:00:03.0/net/enp0s3b')); // a second port: the first by name wins
  dev('0000:00:04.0', 'virtio-pci', 'virtio1/net/eth7');
  dev('0000:00:05.0', 'vfio-pci');
  dev('0000:00:06.0', 'mlx5_core', 'net');
  mkdirSync(join(root, 'bus/pci/devices'), { recursive: true });
  for (const a of ['0000:00:03.0', '0000:00:04.0', '0000:00:05.0', '0000:00:06.0']) {
    symlinkSync(`../../../devices/pci0000:00/${a}`, join(root, 'bus/pci/devices', a));
  }
  mkdirSync(join(root, 'bus/auxiliary/devices/mlx5_core.sf.2/net/enp0s6f0s2'), { recursive: true });
  mkdirSync(join(pci, '0000:00:07.0'), { recursive: true });
  symlinkSync('../../../devices/pci0000:00/0000:00:07.0', join(root, 'bus/pci/devices/0000:00:07.0')); // no driver bound
  writeFileSync(join(pci, 'uevent'), '');
  return root;
}

describe('host-device sysfs lookups', () => {
  it('finds the net device of a PCI address, a virtio device, an auxiliary device and a kernel path', async () => {
    const sys = fakeSys();
    expect(await resolveDevice(parse({ pciBusID: '0000:00:03.0' }), sys)).toEqual({
      dpdk: false,
      field: 'pciBusID',
      selector: { name: 'enp0s3' },
    });
    expect(await resolveDevice(parse({ pciBusID: '0000:00:04.0' }), sys)).toMatchObject({ selector: { name: 'eth7' } });
    expect(await resolveDevice(parse({ runtimeConfig: { deviceID: '0000:00:03.0' } }), sys)).toMatchObject({
      field: 'runtimeConfig.deviceID',
      selector: { name: 'enp0s3' },
    });
    expect(await resolveDevice(parse({ runtimeConfig: { deviceID: 'mlx5_core.sf.2' } }), sys)).toMatchObject({
      field: 'runtimeConfig.deviceID',
      selector: { name: 'enp0s6f0s2' },
    });
    expect(await resolveDevice(parse({ kernelpath: '/sys/devices/pci0000:00/0000:00:03.0' }), sys)).toMatchObject({
      field: 'kernelpath',
      selector: { name: 'enp0s3' },
    });
    expect(await resolveDevice(parse({ device: 'eth1' }), sys)).toMatchObject({ selector: { name: 'eth1' } });
    expect(await resolveDevice(parse({ hwaddr: '02-AB-00-00-00-01' }), sys)).toMatchObject({ selector: { hwaddr: '02:ab:00:00:00:01' } });
  });

  it('leaves a device bound to a user-space driver alone (DPDK)', async () => {
    const sys = fakeSys();
    expect(await resolveDevice(parse({ pciBusID: '0000:00:05.0' }), sys)).toEqual({
      dpdk: true,
      field: 'pciBusID',
      pciAddress: '0000:00:05.0',
    });
    expect(await isUserspaceDevice(parse({ runtimeConfig: { deviceID: '0000:00:05.0' } }), sys)).toBe(true);
    expect(await isUserspaceDevice(parse({ pciBusID: '0000:00:03.0' }), sys)).toBe(false);
    expect(await isUserspaceDevice(parse({ device: 'eth1' }), sys)).toBe(false);
    // DEL of a device unplugged since: not user space, so the link is looked for (and DEL succeeds)
    expect(await isUserspaceDevice(parse({ pciBusID: '0000:00:09.0' }), sys)).toBe(false);
  });

  it('names the field when sysfs has no such device', async () => {
    const sys = fakeSys();
    const fails = async (extra: Record<string, unknown>) => {
      const e = await resolveDevice(parse(extra), sys).then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(e, JSON.stringify(extra)).toBeInstanceOf(CniError);
      return e as CniError;
    };
    expect(await fails({ runtimeConfig: { deviceID: '0000:00:09.0' } })).toMatchObject({
      code: 7,
      message: 'runtimeConfig.deviceID: runtime config DeviceID 0000:00:09.0 not found or unsupported',
    });
    expect((await fails({ pciBusID: '0000:00:09.0' })).message).toMatch(/^pciBusID: error with host device: /);
    expect((await fails({ pciBusID: '0000:00:07.0' })).message).toMatch(/^pciBusID: error with host device: /);
    expect((await fails({ pciBusID: '0000:00:06.0' })).message).toMatch(
      /^pciBusID: failed to find host device: failed to find network device in path /,
    );
    expect((await fails({ kernelpath: '/sys/devices/pci0000:00/0000:00:09.0' })).message).toMatch(
      /^kernelpath: failed to find host device: failed to read directory /,
    );
  });
});
