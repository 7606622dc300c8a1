// The network configuration list admins write (libcni ConfListFromBytes rules).
import { z } from 'zod';
import { looseBool } from './fields.js';
import { netConfSchema } from './net-conf.js';
import { CURRENT_VERSION, versionAtLeast } from './versions.js';

/** A plugin entry of a conflist: a network config (so `type` is required) whose `name`/`cniVersion` come from the list. */
export const pluginConfSchema = netConfSchema.extend({ name: z.string().optional() });
export type PluginConf = z.infer<typeof pluginConfSchema>;

/**
 * A conflist. Top-level keys are matched exactly (libcni reads them from a map); plugin entries
 * are matched case-insensitively like any Go struct. disableCheck/disableGC/loadOnlyInlinedPlugins
 * accept booleans or "true"/"false" in any case.
 */
export const confListSchema = z
  .object({
    cniVersion: z.string().optional(),
    cniVersions: z.array(z.string()).optional(),
    name: z.string(),
    disableCheck: looseBool.optional(),
    disableGC: looseBool.optional(),
    loadOnlyInlinedPlugins: looseBool.optional(),
    plugins: z.array(pluginConfSchema).optional(),
  })
  .loose()
  .superRefine((c, ctx) => {
    if (c.loadOnlyInlinedPlugins === true && c.plugins === undefined) {
      ctx.addIssue({ code: 'custom', path: ['plugins'], message: 'loadOnlyInlinedPlugins is true but no plugins are listed' });
    }
  });
export type ConfList = z.infer<typeof confListSchema>;

/**
 * The version a runtime uses for a list: the highest of `cniVersion` and the `cniVersions`
 * entries not newer than ours (libcni). Throws on an entry that is not a version.
 */
export function selectListVersion(list: { cniVersion?: string | undefined; cniVersions?: string[] | undefined }): string {
  const base = list.cniVersion ?? '';
  if (!list.cniVersions) return base;
  const candidates = [base];
  for (const v of list.cniVersions) {
    if (versionAtLeast(CURRENT_VERSION, v)) candidates.push(v);
  }
  return candidates.reduce((best, v) => (versionAtLeast(v, best) ? v : best));
}
