// Property tests of config parsing: whatever JSON (or bytes) a runtime hands a plugin or a conflist
// loader, the answer is a CniError with a spec code and a message, never another exception; and a
// valid config goes through every check of the skeleton and its plugin's schema unchanged.
// ADD and DEL only: a valid config stops at their netns check (CNI_NETNS is this process's own
// namespace: code 8), so no handler runs and nothing touches the network. CHECK has no such check
// in the skeleton (as in the reference), so a valid CHECK would run its handler here.
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { loadPlugin } from '../../src/plugins.js';
import { parseNetworkList, parsePluginConf } from '../../src/runtime/conf-parse.js';
import { CniError, ErrorCode } from '../../src/spec/errors.js';
import { netConfSchema } from '../../src/spec/net-conf.js';
import { ALL_VERSIONS } from '../../src/spec/versions.js';
import { parseWithSchema } from '../../src/spec/zod-errors.js';
import { SHIPPED_PLUGINS } from '../helpers/run-plugin.js';

const CODES: readonly number[] = Object.values(ErrorCode).filter((c) => c !== ErrorCode.Internal);
const ENV = { CNI_CONTAINERID: 'c1', CNI_NETNS: '/proc/self/ns/net', CNI_IFNAME: 'eth0', CNI_PATH: '/nonexistent' };
// Never the node's real /var/lib/cni, should a request ever get past the netns guard.
const HOST_LOCAL = { type: 'host-local', subnet: '10.1.0.0/24', dataDir: '/nonexistent/ipam' };

const prev = { cniVersion: '1.1.0', interfaces: [{ name: 'eth0', sandbox: '/x' }], ips: [{ address: '10.0.0.2/24', interface: 0 }] };
/** Per plugin, the keys beyond name/type/cniVersion that make a valid config. */
const VALID: Record<string, Record<string, unknown>> = {
  bandwidth: { ingressRate: 1000, ingressBurst: 1000, prevResult: prev },
  bridge: { bridge: 'br0', ipam: HOST_LOCAL },
  dhcp: { ipam: { type: 'dhcp' } },
  dummy: { ipam: HOST_LOCAL },
  firewall: { prevResult: prev },
  flannel: { subnetFile: '/nonexistent/subnet.env', dataDir: '/nonexistent/d' },
  'host-device': { device: 'eth1' },
  'host-local': { ipam: HOST_LOCAL },
  ipvlan: { master: 'eth0' },
  loopback: {},
  macvlan: { master: 'eth0' },
  portmap: { prevResult: prev },
  ptp: { ipam: HOST_LOCAL },
  sbr: { prevResult: prev },
  static: { ipam: { type: 'static', addresses: [{ address: '10.1.0.2/24' }] } },
  tap: {},
  tuning: { prevResult: prev },
  vlan: { master: 'eth0', vlanId: 5 },
  vrf: { vrfname: 'vrf0', prevResult: prev },
};

const validConfig = (type: string, version = '1.1.0'): Record<string, unknown> => ({
  cniVersion: version,
  name: 'net1',
  type,
  ...VALID[type],
});

/** What the skeleton answers for these stdin bytes: the CniError it rejects with. */
async function answer(type: string, command: string, stdin: Uint8Array | string): Promise<CniError> {
  const plugin = await loadPlugin(type);
  if (!plugin?.invokeDirect) throw new Error(`${type}: not runnable in-process`);
  try {
    await plugin.invokeDirect({ env: { ...ENV, CNI_COMMAND: command }, stdin }, () => {});
  } catch (e) {
    if (!(e instanceof CniError)) throw new Error(`${type} ${command}: not a CniError: ${(e as Error)?.stack ?? e}`);
    return e;
  }
  throw new Error(`${type} ${command}: reached its handler (expected code 8 at the netns check)`);
}

function expectSpecError(e: CniError): void {
  expect(CODES).toContain(e.code);
  expect(e.message.trim()).not.toBe('');
}

/** A valid config with one field (top level or under ipam/prevResult) replaced or added with any JSON. */
function mutated(type: string): fc.Arbitrary<Record<string, unknown>> {
  const base = validConfig(type);
  const keys = [...Object.keys(base), 'mtu', 'mac', 'args', 'runtimeConfig', 'capabilities', 'dns', 'ipMasq', 'IPAM', 'Name'];
  return fc
    .tuple(fc.constantFrom(...keys), fc.constantFrom('top', 'ipam', 'prevResult'), fc.jsonValue({ maxDepth: 3 }))
    .map(([key, where, value]) => {
      const conf = structuredClone(base) as Record<string, unknown>;
      const inner = conf[where];
      if (where !== 'top' && inner && typeof inner === 'object') (inner as Record<string, unknown>)[key] = value;
      else conf[key] = value;
      return conf;
    });
}

describe('plugin configs', () => {
  test.each(SHIPPED_PLUGINS)('%s: a valid config passes every check, in every version it supports', async (type) => {
    const versions = ALL_VERSIONS.filter((v) => !VALID[type]?.prevResult || v >= '0.3.0');
    for (const v of versions) {
      const conf = validConfig(type, v);
      if (VALID[type]?.prevResult) conf.prevResult = { ...prev, cniVersion: v };
      const e = await answer(type, 'ADD', JSON.stringify(conf));
      if (e.code === ErrorCode.IncompatibleVersion) continue;
      expect([e.code, e.message], v).toEqual([ErrorCode.InvalidNetns, "plugin's netns and netns from CNI_NETNS should not be the same"]);
    }
  });

  test.each(SHIPPED_PLUGINS)('%s: any JSON, or a valid config with any field changed, is a CniError with a spec code', async (type) => {
    const stdin = fc.oneof(
      fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
      mutated(type).map((v) => JSON.stringify(v)),
      fc.string({ maxLength: 40 }),
      fc.uint8Array({ maxLength: 40 }),
    );
    await fc.assert(
      fc.asyncProperty(stdin, fc.constantFrom('ADD', 'DEL'), async (bytes, command) => {
        expectSpecError(await answer(type, command, bytes));
      }),
      { numRuns: 60, seed: 13 },
    );
  });
});

describe('common fields and conflists', () => {
  const extraKeys = fc.dictionary(fc.stringMatching(/^x[a-zA-Z]{0,8}$/), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 });
  const netConf = fc
    .tuple(fc.constantFrom(...ALL_VERSIONS), fc.stringMatching(/^[a-z][a-z0-9-]{0,10}$/), fc.constantFrom(...SHIPPED_PLUGINS), extraKeys)
    .map(([cniVersion, name, type, extra]) => ({ ...extra, cniVersion, name, type }));

  test('a valid network config round-trips through the common schema', () => {
    fc.assert(
      fc.property(netConf, (conf) => {
        const input = JSON.parse(JSON.stringify(conf)) as unknown;
        expect(parseWithSchema(netConfSchema, input)).toEqual(input);
      }),
      { numRuns: 200, seed: 13 },
    );
  });

  test('a valid conflist round-trips: its name, version and plugins as written', () => {
    const list = fc
      .tuple(
        fc.constantFrom(...ALL_VERSIONS),
        fc.stringMatching(/^[a-z][a-z0-9-]{0,10}$/),
        fc.array(netConf, { minLength: 1, maxLength: 3 }),
      )
      .map(([cniVersion, name, plugins]) => ({ cniVersion, name, plugins: plugins.map(({ cniVersion: _v, name: _n, ...p }) => p) }));
    fc.assert(
      fc.property(list, (l) => {
        const parsed = parseNetworkList(Buffer.from(JSON.stringify(l)));
        expect([parsed.name, parsed.cniVersion, parsed.plugins]).toEqual([l.name, l.cniVersion, l.plugins]);
        expect(parseNetworkList(parsed.bytes)).toEqual(parsed);
      }),
      { numRuns: 200, seed: 13 },
    );
  });

  test('any bytes or JSON given as a conflist or a plugin config file is a CniError with a spec code', () => {
    const listish = fc.dictionary(
      fc.constantFrom(
        'cniVersion',
        'cniVersions',
        'name',
        'plugins',
        'disableCheck',
        'disableGC',
        'loadOnlyInlinedPlugins',
        'type',
        'capabilities',
      ),
      fc.jsonValue({ maxDepth: 3 }),
    );
    const input = fc.oneof(
      fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
      listish.map((v) => JSON.stringify(v)),
      fc.string({ maxLength: 40 }),
    );
    fc.assert(
      fc.property(input, (text) => {
        for (const parse of [parseNetworkList, parsePluginConf]) {
          try {
            parse(Buffer.from(text));
          } catch (e) {
            if (!(e instanceof CniError)) throw new Error(`not a CniError: ${(e as Error)?.stack ?? e}`);
            expectSpecError(e);
          }
        }
      }),
      { numRuns: 400, seed: 13 },
    );
  });
});
