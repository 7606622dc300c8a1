// The bandwidth plugin's network config: the four limits at the top level or in the `bandwidth`
// capability, with the reference's rules
// (https://github.com/containernetworking/plugins/blob/v1.1.1/plugins/meta/bandwidth/main.go,
// parseConfig, getBandwidth, validateRateAndBurst).
import { z } from 'zod';
import type { BandwidthShape } from '../../src/native.js';

/** Bits per second or bits: the reference's uint64, as far as a JSON number is exact. */
const amount = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

const entryFields = {
  ingressRate: amount.optional(),
  ingressBurst: amount.optional(),
  egressRate: amount.optional(),
  egressBurst: amount.optional(),
};
const entryKeys = Object.keys(entryFields) as (keyof typeof entryFields)[];

/** The burst's bytes must fit the kernel's 32 bits (the reference: burst/8 < MaxUint32). */
const maxBurstBytes = 2 ** 32 - 1;

/** Raw config; unknown keys are kept (other plugins of a chain may own them). */
export const bandwidthConfigSchema = z
  .object({
    name: z.string(),
    ...entryFields,
    runtimeConfig: z
      .object({ bandwidth: z.object(entryFields).loose().nullish() })
      .loose()
      .optional(),
  })
  .loose()
  .superRefine((c, ctx) => {
    const { entry, path } = chosenEntry(c);
    if (!entry) return;
    for (const dir of ['ingress', 'egress'] as const) {
      const [rate, burst] = [entry[`${dir}Rate`] ?? 0, entry[`${dir}Burst`] ?? 0];
      const issue = (field: string, message: string) => ctx.addIssue({ code: 'custom', path: [...path, field], message });
      if (burst === 0 && rate !== 0) issue(`${dir}Burst`, 'if rate is set, burst must also be set');
      else if (rate === 0 && burst !== 0) issue(`${dir}Rate`, 'if burst is set, rate must also be set');
      else if (Math.floor(burst / 8) >= maxBurstBytes) issue(`${dir}Burst`, 'burst cannot be more than 4GB');
    }
  });

export type BandwidthConfig = z.infer<typeof bandwidthConfigSchema>;
type Entry = Partial<Record<(typeof entryKeys)[number], number>>;

/**
 * The limits in force and where they were written: the top-level fields when any is present (even
 * zero), else the `bandwidth` capability, as the reference's getBandwidth decides.
 */
function chosenEntry(c: Entry & { runtimeConfig?: { bandwidth?: Entry | null } }): { entry?: Entry; path: string[] } {
  if (entryKeys.some((k) => c[k] !== undefined)) return { entry: c, path: [] };
  return { entry: c.runtimeConfig?.bandwidth ?? undefined, path: ['runtimeConfig', 'bandwidth'] };
}

/** What to shape, per direction (a direction is shaped when its rate and burst are set). */
export function shaping(c: BandwidthConfig): { ingress?: BandwidthShape; egress?: BandwidthShape } {
  const { entry } = chosenEntry(c);
  const shape = (rate = 0, burst = 0) => (rate > 0 && burst > 0 ? { rate, burst } : undefined);
  return { ingress: shape(entry?.ingressRate, entry?.ingressBurst), egress: shape(entry?.egressRate, entry?.egressBurst) };
}
