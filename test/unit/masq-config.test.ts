// nonMasqueradeCIDRs of bridge and ptp: each entry checked through the one IP module, refused with
// code 7 naming the field and its index before anything is made, accepted ones in Go's form.
import { describe, expect, it } from 'vitest';
import { bridge, ptp } from '../../src/index.js';
import { bridgeConfigSchema } from '../../plugins/bridge/config.js';
import { ptpConfigSchema } from '../../plugins/ptp/config.js';

const ipam = { type: 'host-local', subnet: '10.244.1.0/24' };
/** An ADD refused by its config before it would have looked at the (absent) namespace. */
const ADD_OF_NOTHING = {
  CNI_COMMAND: 'ADD',
  CNI_CONTAINERID: 'c1',
  CNI_NETNS: '/run/netns/fcni-t-absent',
  CNI_IFNAME: 'eth0',
  CNI_PATH: '/x',
};
const plugins = [
  { name: 'bridge', plugin: bridge, schema: bridgeConfigSchema },
  { name: 'ptp', plugin: ptp, schema: ptpConfigSchema },
] as const;

describe.each(plugins)('$name nonMasqueradeCIDRs', ({ name, plugin, schema }) => {
  const config = (list: unknown) => ({ name: 'n', cniVersion: '1.0.0', type: name, ipMasq: true, ipam, nonMasqueradeCIDRs: list });

  it('takes IPv4 and IPv6 CIDRs, host bits and all, in Go form; absent stays absent', () => {
    const parsed = schema.parse(config(['10.244.0.0/16', 'FD00:10:244::/56', '192.168.7.9/20', '::ffff:10.0.0.0/104']));
    expect(parsed.nonMasqueradeCIDRs).toEqual(['10.244.0.0/16', 'fd00:10:244::/56', '192.168.7.9/20', '10.0.0.0/8']);
    expect(schema.parse({ ...config([]), nonMasqueradeCIDRs: undefined }).nonMasqueradeCIDRs).toBeUndefined();
    expect(schema.parse(config([])).nonMasqueradeCIDRs).toEqual([]);
  });

  async function refused(list: unknown): Promise<{ code: number; msg: string }> {
    const out = await plugin.invoke({
      env: ADD_OF_NOTHING,
      stdin: JSON.stringify(config(list)),
    });
    expect(out.exitCode).toBe(1);
    return JSON.parse(out.stdout);
  }

  it('refuses a bad entry with code 7 naming the field and index', async () => {
    expect(await refused(['10.244.0.0/16', '10.244.0.0'])).toMatchObject({
      code: 7,
      msg: 'nonMasqueradeCIDRs[1]: invalid CIDR "10.244.0.0"',
    });
    expect(await refused(['10.244.0.0/33'])).toMatchObject({ code: 7, msg: 'nonMasqueradeCIDRs[0]: invalid CIDR "10.244.0.0/33"' });
    expect(await refused(['fd00::/48', 'cluster'])).toMatchObject({ code: 7, msg: 'nonMasqueradeCIDRs[1]: invalid CIDR "cluster"' });
    expect(await refused(['::/0'])).toMatchObject({
      code: 7,
      msg: 'nonMasqueradeCIDRs[0]: "::/0" would exempt every destination (use ipMasq: false)',
    });
    expect((await refused([42])).msg).toMatch(/^nonMasqueradeCIDRs\[0\]: /);
    expect(await refused('10.244.0.0/16')).toMatchObject({ code: 7, msg: expect.stringMatching(/^nonMasqueradeCIDRs: /) });
  });
});
