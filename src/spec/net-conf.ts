// The network config a plugin receives on stdin: the spec's common fields; unknown keys are preserved.
import { z } from 'zod';
import { argsSchema, capabilitiesSchema, runtimeConfigSchema } from './runtime-config.js';

/** `dns` of a config or result. */
export const dnsSchema = z
  .object({
    nameservers: z.array(z.string()).optional(),
    domain: z.string().optional(),
    search: z.array(z.string()).optional(),
    options: z.array(z.string()).optional(),
  })
  .loose();
export type Dns = z.infer<typeof dnsSchema>;

/** `ipam`: the delegate's type plus its own keys. */
export const ipamSchema = z.object({ type: z.string().optional() }).loose();
export type Ipam = z.infer<typeof ipamSchema>;

/** A GC attachment in `cni.dev/valid-attachments`. */
export const attachmentSchema = z.object({ containerID: z.string(), ifname: z.string() }).loose();

/**
 * The plugin's type (its binary's name): required by the spec, and by libcni, which refuses a config
 * without it. The reference skel does not check it, so its plugins run without one; ours do not.
 */
const typeSchema = z
  .string({ error: (issue) => (issue.input === undefined ? 'required field is missing' : undefined) })
  .min(1, { error: 'must not be empty' });

/**
 * The common fields of a plugin's network config (types.NetConf plus the well-known optional keys).
 * The skeleton checks every request against it, then against the plugin's own schema (the `config`
 * of definePlugin), which therefore names only the fields its handlers read.
 * A missing `cniVersion` means 0.1.0 (see configVersion).
 */
export const netConfSchema = z
  .object({
    cniVersion: z.string().optional(),
    name: z.string(),
    type: typeSchema,
    capabilities: capabilitiesSchema.optional(),
    ipMasq: z.boolean().optional(),
    ipam: ipamSchema.optional(),
    dns: dnsSchema.optional(),
    args: argsSchema.optional(),
    runtimeConfig: runtimeConfigSchema.optional(),
    prevResult: z.record(z.string(), z.unknown()).nullable().optional(),
    'cni.dev/valid-attachments': z.array(attachmentSchema).optional(),
    'cni.dev/attachments': z.array(attachmentSchema).optional(),
  })
  .loose();
export type NetConf = z.infer<typeof netConfSchema>;

/** The config's version with the spec's default: missing or "" is 0.1.0. */
export function configVersion(conf: { cniVersion?: string | undefined }): string {
  return conf.cniVersion || '0.1.0';
}
