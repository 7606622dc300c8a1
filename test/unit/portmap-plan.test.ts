// The portmap plugin's pure decisions: defaults, refused fields, the pod's addresses from prevResult,
// the native request, and an ADD without mappings passing prevResult through (no native call).
import { describe, expect, it } from 'vitest';
import { checkBackend, portmapConfigSchema } from '../../plugins/portmap/config.js';
import { addRequest, containerIps } from '../../plugins/portmap/plan.js';
import { portmap } from '../../plugins/portmap/index.js';
import { CniError } from '../../src/spec/errors.js';

const base = { name: 'n', cniVersion: '1.0.0', type: 'portmap' };

describe('portmap config', () => {
  it('fills the reference defaults', () => {
    expect(portmapConfigSchema.parse(base)).toMatchObject({ snat: true, masqAll: false });
  });

  it.each([
    [{ markMasqBit: 13 }, 2, /^unsupported field markMasqBit: 13 \(iptables backend only/],
    [{ externalSetMarkChain: 'X' }, 2, /^unsupported field externalSetMarkChain: "X"/],
    [{ backend: 'iptables' }, 2, /^unsupported field backend: "iptables"/],
    [{ backend: 'ebpf' }, 7, /^backend: unknown backend "ebpf"/],
    [{ conditionsV4: ['!', '-d', '1.2.3.4'] }, 2, /^unsupported field conditionsV4/],
    [{ conditionsV4: ['ip6 daddr fd00::1'] }, 7, /^conditionsV4: unsupported selector "ip6 daddr" \(it belongs in conditionsV6\)/],
  ])('refuses %j with code %i', (extra, code, msg) => {
    const c = portmapConfigSchema.parse({ ...base, ...extra });
    let err: unknown;
    try {
      checkBackend(c);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CniError);
    expect((err as CniError).code).toBe(code);
    expect((err as CniError).message).toMatch(msg);
  });

  it('accepts the nftables backend and empty conditions', () => {
    expect(() => checkBackend(portmapConfigSchema.parse({ ...base, backend: 'nftables', conditionsV4: [] }))).not.toThrow();
  });
});

describe('portmap planning', () => {
  it('takes the first address per family on the container interface, as the reference does', () => {
    const prev = {
      interfaces: [{ name: 'cni0' }, { name: 'eth0', sandbox: '/run/netns/p' }, { name: 'eth1', sandbox: '/run/netns/p' }],
      ips: [
        { address: '10.0.0.1/24', interface: 0 }, // the bridge: skipped
        { address: '10.1.0.5/24', interface: 2 }, // another container interface: skipped
        { address: '10.2.0.5/24', interface: 1 },
        { address: '10.3.0.5/24', interface: 1 }, // a second IPv4: skipped
        { address: 'fd00::5/64' }, // no interface: counts
      ],
    };
    expect(containerIps(prev, 'eth0')).toEqual(['10.2.0.5', 'fd00::5']);
  });

  it('lower-cases protocols, defaults to tcp, and drops an empty hostIP', () => {
    const c = portmapConfigSchema.parse({
      ...base,
      snat: false,
      runtimeConfig: {
        portMappings: [
          { hostPort: 80, containerPort: 8080, protocol: 'UDP', hostIP: '' },
          { hostPort: 81, containerPort: 8081 },
        ],
      },
    });
    const req = addRequest(c, { network: 'n', containerId: 'c', ifname: 'eth0' }, ['10.0.0.5']);
    expect(req.mappings).toEqual([
      { hostPort: 80, containerPort: 8080, protocol: 'udp', hostIp: undefined },
      { hostPort: 81, containerPort: 8081, protocol: 'tcp', hostIp: undefined },
    ]);
    expect(req).toMatchObject({ snat: false, masqAll: false, containerIps: ['10.0.0.5'] });
  });
});

describe('portmap ADD without mappings', () => {
  it('prints prevResult unchanged and touches nothing; without prevResult it fails', async () => {
    const prevResult = {
      cniVersion: '1.0.0',
      interfaces: [{ name: 'eth0', sandbox: '/x' }],
      ips: [{ address: '10.0.0.5/24', interface: 0 }],
    };
    const env = { CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'c', CNI_IFNAME: 'eth0', CNI_NETNS: '/x', CNI_PATH: '/', CNI_NETNS_OVERRIDE: '1' };
    const out = await portmap.invoke({ env, stdin: JSON.stringify({ ...base, prevResult }) });
    expect(out.exitCode, out.stdout).toBe(0);
    expect(JSON.parse(out.stdout)).toEqual(prevResult);
    const missing = await portmap.invoke({ env, stdin: JSON.stringify(base) });
    expect(missing.exitCode).toBe(1);
    expect(JSON.parse(missing.stdout)).toMatchObject({ code: 7, msg: 'must be called as chained plugin' });
  });
});
