// The bandwidth plugin's config rules and IFB name, without a kernel.
import { describe, expect, it } from 'vitest';
import { bandwidthConfigSchema, shaping } from '../../plugins/bandwidth/config.js';
import { ifbName } from '../../plugins/bandwidth/index.js';

const parse = (fields: Record<string, unknown>) => bandwidthConfigSchema.safeParse({ name: 'net', ...fields });

describe('bandwidth config', () => {
  it('names the IFB as the reference does', () => {
    // what the reference (Debian's v1.1.1) named it for network "mynet", container "ctr1"
    expect(ifbName('mynet', 'ctr1')).toBe('bwp5145007e2a84');
    expect(ifbName('a-network-with-a-long-name', 'x'.repeat(64))).toHaveLength(15);
  });

  it('top-level limits win over the capability, even when zero', () => {
    const bandwidth = { ingressRate: 1000, ingressBurst: 100 };
    const capOnly = parse({ runtimeConfig: { bandwidth } });
    expect(shaping(capOnly.data!)).toEqual({ ingress: { rate: 1000, burst: 100 }, egress: undefined });
    const zeroTop = parse({ egressRate: 0, runtimeConfig: { bandwidth } });
    expect(shaping(zeroTop.data!)).toEqual({ ingress: undefined, egress: undefined });
    const both = parse({ egressRate: 2000, egressBurst: 200, runtimeConfig: { bandwidth } });
    expect(shaping(both.data!)).toEqual({ ingress: undefined, egress: { rate: 2000, burst: 200 } });
  });

  it('checks only the limits in force, as the reference does', () => {
    // a capability that would be refused is ignored when the top level has limits
    expect(parse({ ingressRate: 0, runtimeConfig: { bandwidth: { ingressRate: 5 } } }).success).toBe(true);
    const bad = parse({ runtimeConfig: { bandwidth: { ingressRate: 5 } } });
    expect(bad.error?.issues[0]).toMatchObject({
      path: ['runtimeConfig', 'bandwidth', 'ingressBurst'],
      message: 'if rate is set, burst must also be set',
    });
    expect(parse({ runtimeConfig: { bandwidth: null } }).success).toBe(true);
  });

  it('a burst just under 4 GB is taken, at 4 GB it is refused', () => {
    expect(parse({ egressRate: 8, egressBurst: 8 * (2 ** 32 - 1) - 1 }).success).toBe(true);
    expect(parse({ egressRate: 8, egressBurst: 8 * (2 ** 32 - 1) }).error?.issues[0]?.message).toBe('burst cannot be more than 4GB');
  });
});
