// static IPAM in-process through the library: the reference's precedence of address sources
// (config, CNI_ARGS IP=/GATEWAY=, args.cni.ips, runtimeConfig.ips), its version rule and errors, CHECK.
import { describe, expect, it } from 'vitest';
import { staticConf, staticInProcess } from '../helpers/static.js';

const base = {
  addresses: [
    { address: '10.10.0.1/24', gateway: '10.10.0.254' },
    { address: '3ffe:ffff:0:01ff::1/64', gateway: '3ffe:ffff:0::1' },
  ],
  routes: [{ dst: '0.0.0.0/0' }, { dst: '192.168.0.0/16', gw: '10.10.5.1' }],
  dns: { nameservers: ['8.8.8.8'], domain: 'example.com', search: ['example.com'] },
};

describe('static ADD: the addresses as given, in the reference precedence', () => {
  it('returns addresses (host bits and gateways kept, Go-printed), routes and dns as configured', async () => {
    const r = await staticInProcess('ADD', staticConf(base));
    expect(r.code, r.stdout).toBe(0);
    expect(r.json).toEqual({
      cniVersion: '1.0.0',
      ips: [
        { address: '10.10.0.1/24', gateway: '10.10.0.254' },
        { address: '3ffe:ffff:0:1ff::1/64', gateway: '3ffe:ffff::1' },
      ],
      routes: base.routes,
      dns: base.dns,
    });
  });

  const cases: Array<{ label: string; extra?: Record<string, unknown>; args?: string; ips: unknown[] }> = [
    {
      label: 'CNI_ARGS IP= is appended; GATEWAY= goes to the CNI_ARGS address whose subnet holds it',
      args: 'IP=10.1.1.1/24, 10.2.2.2/16;GATEWAY=10.2.0.1,10.9.9.9',
      ips: [
        { address: '10.10.0.1/24', gateway: '10.10.0.254' },
        { address: '3ffe:ffff:0:1ff::1/64', gateway: '3ffe:ffff::1' },
        { address: '10.1.1.1/24' },
        { address: '10.2.2.2/16', gateway: '10.2.0.1' },
      ],
    },
    {
      label: 'GATEWAY= never touches a config address, even one whose subnet holds it',
      args: 'GATEWAY=10.10.0.1',
      ips: [
        { address: '10.10.0.1/24', gateway: '10.10.0.254' },
        { address: '3ffe:ffff:0:1ff::1/64', gateway: '3ffe:ffff::1' },
      ],
    },
    {
      label: 'args.cni.ips replaces config and CNI_ARGS addresses (gateways gone with them)',
      extra: { args: { cni: { ips: ['10.3.3.3/24'] } } },
      args: 'IP=10.1.1.1/24;GATEWAY=10.1.1.254',
      ips: [{ address: '10.3.3.3/24' }],
    },
    {
      label: 'runtimeConfig.ips replaces args.cni.ips in turn',
      extra: { args: { cni: { ips: ['10.3.3.3/24'] } }, runtimeConfig: { ips: ['10.4.4.4/8', '2001:db8::4/64'] } },
      ips: [{ address: '10.4.4.4/8' }, { address: '2001:db8::4/64' }],
    },
    {
      label: 'empty lists replace nothing',
      extra: { args: { cni: { ips: [] } }, runtimeConfig: { ips: [] } },
      ips: [
        { address: '10.10.0.1/24', gateway: '10.10.0.254' },
        { address: '3ffe:ffff:0:1ff::1/64', gateway: '3ffe:ffff::1' },
      ],
    },
    {
      label: 'a config address that would not parse is fine once replaced',
      extra: { ipam: { type: 'static', addresses: [{ address: '10.0.0.1' }] }, runtimeConfig: { ips: ['10.5.5.5/24'] } },
      ips: [{ address: '10.5.5.5/24' }],
    },
  ];
  for (const c of cases) {
    it(c.label, async () => {
      const conf = { ...staticConf(base), ...c.extra };
      const r = await staticInProcess('ADD', conf, c.args);
      expect(r.code, r.stdout).toBe(0);
      expect((r.json as { ips: unknown[] }).ips).toEqual(c.ips);
    });
  }

  it('more than one address of a family needs 0.3.0; 0.2.0 takes one of each', async () => {
    const two = staticConf({ addresses: [{ address: '10.1.0.1/24' }, { address: '10.1.0.2/24' }] }, { cniVersion: '0.2.0' });
    expect((await staticInProcess('ADD', two)).json).toEqual({
      code: 7,
      msg: 'CNI version 0.2.0 does not support more than 1 address per family',
    });
    const r = await staticInProcess('ADD', { ...staticConf(base), cniVersion: '0.2.0' });
    expect(r.json).toMatchObject({ cniVersion: '0.2.0', ip4: { ip: '10.10.0.1/24' }, ip6: { ip: '3ffe:ffff:0:1ff::1/64' } });
    const v031 = await staticInProcess('ADD', { ...two, cniVersion: '0.3.1' });
    expect((v031.json as { ips: Array<{ version: string }> }).ips.map((i) => i.version)).toEqual(['4', '4']);
  });
});

describe('static bad input: the field, the reference words, the code', () => {
  const cases: Array<{ label: string; conf: Record<string, unknown>; args?: string; code: number; msg: string | RegExp }> = [
    {
      label: 'an address without a prefix',
      conf: staticConf({ addresses: [{ address: '10.10.0.1' }] }),
      code: 7,
      msg: "ipam.addresses[0].address: the 'address' field is expected to be in CIDR notation, got: '10.10.0.1'",
    },
    {
      label: 'an address that is not one',
      conf: staticConf({ addresses: [{ address: '10.10.0.300/24' }] }),
      code: 7,
      msg: "ipam.addresses[0].address: the 'address' field is expected to be in CIDR notation, got: '10.10.0.300/24'",
    },
    {
      label: 'a garbage gateway',
      conf: staticConf({ addresses: [{ address: '10.10.0.1/24', gateway: 'garbage' }] }),
      code: 7,
      msg: 'ipam.addresses[0].gateway: invalid IP address: garbage',
    },
    {
      label: 'no ipam block',
      conf: { cniVersion: '1.0.0', name: 'n', type: 'static' },
      code: 7,
      msg: "ipam: IPAM config missing 'ipam' key",
    },
    { label: 'a route without a CIDR', conf: staticConf({ routes: [{ dst: 'bad' }] }), code: 7, msg: /^ipam\.routes\[0\]\.dst: / },
    {
      label: 'args.cni.ips without a prefix',
      conf: staticConf({}, { args: { cni: { ips: ['10.6.6.6'] } } }),
      code: 7,
      msg: "args.cni.ips[0]: an entry in the 'ips' field is NOT in CIDR notation, got: '10.6.6.6'",
    },
    {
      label: 'CNI_ARGS IP= without a prefix (4: the environment)',
      conf: staticConf({}),
      args: 'IP=10.1.1.1',
      code: 4,
      msg: "CNI_ARGS IP: the 'ip' field is expected to be in CIDR notation, got: '10.1.1.1'",
    },
    {
      label: 'CNI_ARGS GATEWAY= that is no address',
      conf: staticConf({}),
      args: 'IP=10.1.1.1/24;GATEWAY=xx',
      code: 4,
      msg: 'CNI_ARGS GATEWAY: invalid gateway address: xx',
    },
    { label: 'unknown CNI_ARGS', conf: staticConf({}), args: 'FOO=1', code: 4, msg: 'ARGS: unknown args ["FOO=1"]' },
  ];
  for (const c of cases) {
    it(c.label, async () => {
      const r = await staticInProcess('ADD', c.conf, c.args);
      expect(r.code).toBe(1);
      const err = r.json as { code: number; msg: string };
      expect(err.code).toBe(c.code);
      if (typeof c.msg === 'string') expect(err.msg).toBe(c.msg);
      else expect(err.msg).toMatch(c.msg);
    });
  }
});

describe('static DEL and CHECK', () => {
  it('DEL succeeds with nothing to do, even for a config ADD would refuse', async () => {
    expect(await staticInProcess('DEL', staticConf(base))).toMatchObject({ code: 0, stdout: '' });
  });

  it('CHECK wants every address in prevResult with its configured gateway', async () => {
    const conf = staticConf(base);
    const add = await staticInProcess('ADD', conf);
    expect(await staticInProcess('CHECK', { ...conf, prevResult: add.json })).toMatchObject({ code: 0, stdout: '' });
    const prev = add.json as { ips: Array<Record<string, unknown>> };
    const otherGw = { ...prev, ips: [{ ...prev.ips[0], gateway: '10.10.0.1' }, prev.ips[1]] };
    expect((await staticInProcess('CHECK', { ...conf, prevResult: otherGw })).json).toEqual({
      code: 999,
      msg: 'static: Failed to match addr 10.10.0.1 on interface eth0',
    });
    const missing = { ...prev, ips: [prev.ips[1]] };
    expect((await staticInProcess('CHECK', { ...conf, prevResult: missing })).json).toEqual({
      code: 999,
      msg: 'static: address 10.10.0.1 is not in prevResult (interface eth0)',
    });
    expect((await staticInProcess('CHECK', conf)).json).toEqual({ code: 999, msg: 'Required prevResult missing' });
  });
});
