// The host-device plugin's network config: the fields of the reference
// (https://github.com/containernetworking/plugins/blob/main/plugins/main/host-device/host-device.go,
// NetConf and loadConf), with the device named by exactly one of them.
import { z } from 'zod';
import { dnsSchema, ipamSchema } from '../../src/spec/net-conf.js';

/** The fields that name the device; `runtimeConfig.deviceID` stands in for `pciBusID`. */
export const SELECTORS = ['device', 'hwaddr', 'kernelpath', 'pciBusID'] as const;
export type SelectorField = (typeof SELECTORS)[number];

/**
 * A MAC address as Go's net.ParseMAC reads it (6, 8 or 20 bytes, in `aa:bb:…`, `aa-bb-…` or
 * `aabb.ccdd.…` form), as lowercase hex pairs joined by ':', the way the kernel's address of a
 * link is printed; undefined when it is not one.
 */
export function parseHwaddr(s: string): string | undefined {
  const bytes = [6, 8, 20];
  let hex: string | undefined;
  if (/^[0-9a-f]{2}([:-])[0-9a-f]{2}(\1[0-9a-f]{2})*$/i.test(s)) hex = s.replace(/[:-]/g, '');
  else if (/^[0-9a-f]{4}(\.[0-9a-f]{4})*$/i.test(s)) hex = s.replace(/\./g, '');
  if (hex === undefined || !bytes.includes(hex.length / 2)) return undefined;
  return hex.toLowerCase().replace(/(..)(?!$)/g, '$1:');
}

function isEntryName(v: string): boolean {
  return !v.includes('/') && v !== '.' && v !== '..';
}

/** Go's zero value: an empty string is a field not given. */
const optionalString = z.string().optional();

export const hostDeviceConfigSchema = z
  .object({
    device: optionalString,
    hwaddr: optionalString,
    kernelpath: optionalString,
    pciBusID: optionalString,
    ipam: ipamSchema.optional(),
    dns: dnsSchema.optional(),
    /** fastcni's: where a move pins its temporary namespace (pin.ts) */
    dataDir: z.string().optional(),
    runtimeConfig: z.object({ deviceID: optionalString }).loose().optional(),
  })
  .loose()
  .superRefine((c, ctx) => {
    const given = SELECTORS.filter((f) => c[f]);
    const deviceId = c.runtimeConfig?.deviceID;
    // the runtime's device (a device plugin's allocation) replaces the configured PCI address
    const named = deviceId ? [...given.filter((f) => f !== 'pciBusID'), 'runtimeConfig.deviceID'] : given;
    if (named.length === 0) {
      ctx.addIssue({ code: 'custom', path: [], message: 'specify either "device", "hwaddr", "kernelpath" or "pciBusID"' });
    } else if (named.length > 1) {
      const [first, second] = named as [string, string];
      ctx.addIssue({
        code: 'custom',
        path: second.split('.'),
        message: `the device is already named by ${JSON.stringify(first)}: give only one of "device", "hwaddr", "kernelpath" or "pciBusID"`,
      });
    }
    if (c.hwaddr && parseHwaddr(c.hwaddr) === undefined) {
      ctx.addIssue({ code: 'custom', path: ['hwaddr'], message: `failed to parse MAC address ${JSON.stringify(c.hwaddr)}` });
    }
    if (c.kernelpath && !c.kernelpath.startsWith('/sys/devices/')) {
      ctx.addIssue({
        code: 'custom',
        path: ['kernelpath'],
        message: `kernel device path ${JSON.stringify(c.kernelpath)} must be absolute and begin with /sys/devices/`,
      });
    }
    if (c.kernelpath?.split('/').includes('..')) {
      ctx.addIssue({ code: 'custom', path: ['kernelpath'], message: `${JSON.stringify(c.kernelpath)} must not contain ".."` });
    }
    // both name one entry of a sysfs directory
    for (const [path, v] of [
      [['pciBusID'], c.pciBusID],
      [['runtimeConfig', 'deviceID'], deviceId],
    ] as const) {
      if (v && !isEntryName(v)) ctx.addIssue({ code: 'custom', path: [...path], message: `${JSON.stringify(v)} is not a device address` });
    }
  });

export type HostDeviceConfig = z.infer<typeof hostDeviceConfigSchema>;
