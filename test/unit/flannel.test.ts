// flannel's pure parts and its refusals before any delegation: subnet.env as the reference reads
// it, the delegate config byte for byte as the reference renders it, errors naming keys and paths.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/fixtures.js';
import { SUBNET_ENV_DUAL, SUBNET_ENV_V4, writeSubnetEnv } from '../helpers/flannel.js';
import { parseSubnetEnv } from '../../plugins/flannel/subnet-env.js';
import { renderDelegate } from '../../plugins/flannel/render.js';
import { flannelConfigSchema } from '../../plugins/flannel/config.js';
import { flannel } from '../../src/index.js';
import { cidrText } from '../../src/net/ip.js';

const conf = (o: Record<string, unknown>) => flannelConfigSchema.parse({ name: 'cbr0', cniVersion: '0.3.1', type: 'flannel', ...o });

describe('subnet.env', () => {
  it('reads networks (de-duplicated), subnets as their network prefixes, MTU and IPMASQ', () => {
    const env = parseSubnetEnv(
      `${SUBNET_ENV_DUAL.replace('FLANNEL_NETWORK=10.244.0.0/16', 'FLANNEL_NETWORK=10.244.0.0/16,10.244.0.0/16,10.250.0.0/16')}OTHER=x\r\n`,
      '/p',
    );
    expect({
      networks: env.networks.map(cidrText),
      subnet: env.subnet && cidrText(env.subnet),
      ip6Networks: env.ip6Networks.map(cidrText),
      ip6Subnet: env.ip6Subnet && cidrText(env.ip6Subnet),
      mtu: env.mtu,
      ipMasq: env.ipMasq,
    }).toEqual({
      networks: ['10.244.0.0/16', '10.250.0.0/16'],
      subnet: '10.244.1.0/24',
      ip6Networks: ['fd00:10:244::/56'],
      ip6Subnet: 'fd00:10:244:1::/64',
      mtu: 1450,
      ipMasq: false,
    });
    expect(parseSubnetEnv(SUBNET_ENV_V4.replace('true', 'TRUE'), '/p').ipMasq).toBe(false);
  });

  it('names every missing key (the reference pairs) and the path', () => {
    expect(() => parseSubnetEnv('FLANNEL_MTU=1450\n', '/run/x/subnet.env')).toThrow(
      "/run/x/subnet.env is missing FLANNEL_NETWORK, FLANNEL_IPV6_NETWORK, FLANNEL_SUBNET, FLANNEL_IPV6_SUBNET, FLANNEL_IPMASQ (flanneld writes this file: check the flannel pod's log)",
    );
    // one family is enough
    expect(
      parseSubnetEnv('FLANNEL_IPV6_NETWORK=fd00::/48\nFLANNEL_IPV6_SUBNET=fd00:0:0:1::/64\nFLANNEL_MTU=1\nFLANNEL_IPMASQ=x', '/p').subnet,
    ).toBe(undefined);
  });

  it('refuses values that do not parse, naming file and key', () => {
    expect(() => parseSubnetEnv(SUBNET_ENV_V4.replace('1450', '14x0'), '/p')).toThrow('/p: FLANNEL_MTU: not an MTU: "14x0"');
    expect(() => parseSubnetEnv(SUBNET_ENV_V4.replace('1450', '4294967296'), '/p')).toThrow('FLANNEL_MTU: not an MTU');
    expect(() => parseSubnetEnv(SUBNET_ENV_V4.replace('10.244.0.0/16', '10.244.0.0/16, 10.9.0.0/16'), '/p')).toThrow(
      '/p: FLANNEL_NETWORK: invalid CIDR address:  10.9.0.0/16',
    );
    expect(() => parseSubnetEnv(`${SUBNET_ENV_V4}FLANNEL_SUBNET\n`, '/p')).toThrow('/p: FLANNEL_SUBNET: no value');
  });
});

describe('the rendered delegate config (as flannel-io/cni-plugin renders it)', () => {
  it('the classic conflist: bridge, ipMasq = !FLANNEL_IPMASQ, mtu, isGateway, host-local with the lease', () => {
    const r = renderDelegate(conf({ delegate: { hairpinMode: true, isDefaultGateway: true } }), parseSubnetEnv(SUBNET_ENV_V4, '/p'));
    expect(r.type).toBe('bridge');
    // json.Marshal of the map: compact, keys sorted
    expect(r.bytes).toBe(
      '{"cniVersion":"0.3.1","hairpinMode":true,"ipMasq":false,"ipam":{"ranges":[[{"subnet":"10.244.1.0/24"}]],' +
        '"routes":[{"dst":"10.244.0.0/16"}],"type":"host-local"},"isDefaultGateway":true,"isGateway":true,"mtu":1450,' +
        '"name":"cbr0","type":"bridge"}',
    );
  });

  it('dual stack, the given ipam kept and its routes first (types.Route order), runtimeConfig copied, delegate values kept', () => {
    const c = conf({
      delegate: { type: 'bridge', ipMasq: true, mtu: 1400, isGateway: false, 'a<b': '&' },
      ipam: { dataDir: '/tmp/x', routes: [{ scope: 0, gw: '10.0.0.1', dst: '10.0.0.1/8', mtu: 0 }] },
      runtimeConfig: { portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }] },
    });
    const r = renderDelegate(c, parseSubnetEnv(SUBNET_ENV_DUAL, '/p'));
    expect(JSON.parse(r.bytes)).toEqual({
      'a<b': '&',
      cniVersion: '0.3.1',
      ipMasq: true,
      ipam: {
        dataDir: '/tmp/x',
        ranges: [[{ subnet: '10.244.1.0/24' }], [{ subnet: 'fd00:10:244:1::/64' }]],
        routes: [{ dst: '10.0.0.1/8', gw: '10.0.0.1', scope: 0 }, { dst: '10.244.0.0/16' }, { dst: 'fd00:10:244::/56' }],
        type: 'host-local',
      },
      isGateway: false,
      mtu: 1400,
      name: 'cbr0',
      // ours: the flannel networks of both families, exempt from the delegate's masquerade
      nonMasqueradeCIDRs: ['10.244.0.0/16', 'fd00:10:244::/56'],
      runtimeConfig: { portMappings: [{ containerPort: 80, hostPort: 8080, protocol: 'tcp' }] },
      type: 'bridge',
    });
    expect(r.bytes).toContain('"a\\u003cb":"\\u0026"');
    expect(r.bytes).toContain('"routes":[{"dst":"10.0.0.1/8","gw":"10.0.0.1","scope":0},');
  });

  it('a masquerading bridge or ptp delegate exempts the flannel networks, in their order; bytes as Go sorts the keys', () => {
    const masq = parseSubnetEnv(SUBNET_ENV_V4.replace('FLANNEL_IPMASQ=true', 'FLANNEL_IPMASQ=false'), '/p');
    const r = renderDelegate(conf({ delegate: { hairpinMode: true, isDefaultGateway: true } }), masq);
    expect(r.bytes).toBe(
      '{"cniVersion":"0.3.1","hairpinMode":true,"ipMasq":true,"ipam":{"ranges":[[{"subnet":"10.244.1.0/24"}]],' +
        '"routes":[{"dst":"10.244.0.0/16"}],"type":"host-local"},"isDefaultGateway":true,"isGateway":true,"mtu":1450,' +
        '"name":"cbr0","nonMasqueradeCIDRs":["10.244.0.0/16"],"type":"bridge"}',
    );
    const ptp = JSON.parse(renderDelegate(conf({ delegate: { type: 'ptp' } }), parseSubnetEnv(SUBNET_ENV_DUAL, '/p')).bytes);
    expect(ptp.nonMasqueradeCIDRs).toEqual(['10.244.0.0/16', 'fd00:10:244::/56']);
    const v6only = parseSubnetEnv(
      'FLANNEL_IPV6_NETWORK=fd00::/48\nFLANNEL_IPV6_SUBNET=fd00:0:0:1::1/64\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=false\n',
      '/p',
    );
    expect(JSON.parse(renderDelegate(conf({}), v6only).bytes).nonMasqueradeCIDRs).toEqual(['fd00::/48']);
  });

  it('no exemption without masquerade, for another type, or when the delegate names its own (in any case)', () => {
    const masq = parseSubnetEnv(SUBNET_ENV_DUAL, '/p');
    const render = (delegate: Record<string, unknown>, env = masq) => JSON.parse(renderDelegate(conf({ delegate }), env).bytes);
    // FLANNEL_IPMASQ=true: flanneld masquerades, the delegate does not
    expect(render({}, parseSubnetEnv(SUBNET_ENV_V4, '/p'))).not.toHaveProperty('nonMasqueradeCIDRs');
    expect(render({ ipMasq: false })).not.toHaveProperty('nonMasqueradeCIDRs');
    expect(render({ type: 'ipvlan', ipMasq: true })).not.toHaveProperty('nonMasqueradeCIDRs');
    expect(render({ nonMasqueradeCIDRs: ['192.168.0.0/16'] }).nonMasqueradeCIDRs).toEqual(['192.168.0.0/16']);
    expect(render({ nonMasqueradeCIDRs: [] }).nonMasqueradeCIDRs).toEqual([]);
    const own = render({ nonmasqueradecidrs: ['192.168.0.0/16'] });
    expect(own).not.toHaveProperty('nonMasqueradeCIDRs');
    expect(own.nonmasqueradecidrs).toEqual(['192.168.0.0/16']);
  });

  it('another delegate type gets no isGateway; no cniVersion is copied when the config has none', () => {
    const c = flannelConfigSchema.parse({ name: 'n', type: 'flannel', delegate: { type: 'ipvlan' } });
    const out = JSON.parse(renderDelegate(c, parseSubnetEnv(SUBNET_ENV_V4, '/p')).bytes);
    expect(out).not.toHaveProperty('isGateway');
    expect(out).not.toHaveProperty('cniVersion');
    expect(out.type).toBe('ipvlan');
  });
});

describe('flannel ADD refusals: the code, the field or file, nothing written', () => {
  async function add(o: Record<string, unknown>): Promise<{ code: number; msg: string }> {
    const out = await flannel.invoke({
      env: {
        CNI_COMMAND: 'ADD',
        CNI_CONTAINERID: 'c1',
        CNI_NETNS: '/run/netns/fcni-t-absent',
        CNI_IFNAME: 'eth0',
        CNI_PATH: '/nonexistent',
      },
      stdin: JSON.stringify({ name: 'cbr0', cniVersion: '0.3.1', type: 'flannel', ...o }),
    });
    expect(out.exitCode).toBe(1);
    return JSON.parse(out.stdout);
  }

  it('subnet.env missing: 11 (flanneld not up yet), naming the path', async () => {
    const dir = tempDir('flannel');
    const err = await add({ subnetFile: join(dir, 'subnet.env'), dataDir: join(dir, 'data') });
    expect(err).toEqual({
      code: 11,
      msg: `subnetFile ${join(dir, 'subnet.env')} does not exist: flanneld writes it once it has its subnet lease (is flannel running on this node?)`,
    });
  });

  it('keys missing: 7 naming them and the path', async () => {
    const dir = tempDir('flannel');
    const path = writeSubnetEnv(dir, 'FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_MTU=1450\n');
    expect(await add({ subnetFile: path, dataDir: join(dir, 'data') })).toEqual({
      code: 7,
      msg: `${path} is missing FLANNEL_SUBNET, FLANNEL_IPV6_SUBNET, FLANNEL_IPMASQ (flanneld writes this file: check the flannel pod's log)`,
    });
  });

  const refused: Array<[Record<string, unknown>, string]> = [
    [{ delegate: { name: 'x' } }, "delegate.name: 'delegate' dictionary must not have 'name' field, it'll be set by flannel"],
    [{ delegate: { ipam: {} } }, "delegate.ipam: 'delegate' dictionary must not have 'ipam' field, it'll be set by flannel"],
    [{ delegate: { type: 5 } }, "delegate.type: 'delegate' dictionary, if present, must have (string) 'type' field"],
    [{ ipam: { routes: [{ dst: '10.0.0.0' }] } }, 'ipam.routes[0].dst: invalid CIDR "10.0.0.0"'],
  ];
  for (const [extra, msg] of refused) {
    it(msg, async () => {
      const dir = tempDir('flannel');
      const path = writeSubnetEnv(dir, SUBNET_ENV_V4);
      expect(await add({ subnetFile: path, dataDir: join(dir, 'data'), ...extra })).toEqual({ code: 7, msg });
    });
  }

  it('an empty subnetFile or dataDir: 7', async () => {
    expect(await add({ subnetFile: '' })).toEqual({ code: 7, msg: 'subnetFile: must not be empty' });
    expect(await add({ dataDir: '' })).toEqual({ code: 7, msg: 'dataDir: must not be empty' });
  });
});
