// runtimeConfig (capability args, CONVENTIONS.md), capabilities and the `args` object of a network config.
import { z } from 'zod';
import { goInt } from './fields.js';

/** `capabilities`: capability name → enabled. */
export const capabilitiesSchema = z.record(z.string(), z.boolean());
export type Capabilities = z.infer<typeof capabilitiesSchema>;

/** One `portMappings` entry. */
export const portMappingSchema = z
  .object({ hostPort: goInt, containerPort: goInt, protocol: z.string().optional(), hostIP: z.string().optional() })
  .loose();
export type PortMapping = z.infer<typeof portMappingSchema>;

/** One range of host-local's `ranges` / the `ipRanges` capability. */
export const ipRangeSchema = z
  .object({
    subnet: z.string(),
    rangeStart: z.string().optional(),
    rangeEnd: z.string().optional(),
    gateway: z.string().optional(),
  })
  .loose();
export type IpRange = z.infer<typeof ipRangeSchema>;

/** The `bandwidth` capability (bits per second, bits). */
export const bandwidthSchema = z
  .object({ ingressRate: goInt.optional(), ingressBurst: goInt.optional(), egressRate: goInt.optional(), egressBurst: goInt.optional() })
  .loose();

/** The `dns` capability (windows plugins only in the reference). */
export const dnsCapabilitySchema = z
  .object({ servers: z.array(z.string()).optional(), searches: z.array(z.string()).optional(), options: z.array(z.string()).optional() })
  .loose();

/** `runtimeConfig`: the well-known capability args; unknown ones are kept. */
export const runtimeConfigSchema = z
  .object({
    portMappings: z.array(portMappingSchema).optional(),
    ipRanges: z.array(z.array(ipRangeSchema)).optional(),
    bandwidth: bandwidthSchema.optional(),
    dns: dnsCapabilitySchema.optional(),
    ips: z.array(z.string()).optional(),
    mac: z.string().optional(),
    infinibandGUID: z.string().optional(),
    deviceID: z.string().optional(),
    aliases: z.array(z.string()).optional(),
    cgroupPath: z.string().optional(),
  })
  .loose();
export type RuntimeConfig = z.infer<typeof runtimeConfigSchema>;

/** `args` (conventions: `args.cni.ips`, `args.cni.labels`); unknown keys are kept. */
export const argsSchema = z
  .object({
    cni: z
      .object({
        ips: z.array(z.string()).optional(),
        labels: z.array(z.object({ key: z.string(), value: z.string() }).loose()).optional(),
      })
      .loose()
      .optional(),
  })
  .loose();
export type Args = z.infer<typeof argsSchema>;
