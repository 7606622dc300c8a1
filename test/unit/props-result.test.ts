// Property tests of result conversion between every pair of spec versions (src/spec/result-convert.ts)
// against the reference's rules (pkg/types/{020,040,100}): every conversion prints JSON its target
// version's schema accepts, converting up then down gives back what the older version can hold,
// and anything else handed to the result parser is a CniError, never a crash.
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { CniError } from '../../src/spec/errors.js';
import { convertResult, parseResult, resultForVersion } from '../../src/spec/result-convert.js';
import { formatResult } from '../../src/spec/result-print.js';
import type { Result } from '../../src/spec/result.js';
import { ALL_VERSIONS, resultFamily, versionAtLeast } from '../../src/spec/versions.js';

const RUNS = { numRuns: 150, seed: 13 };

const hex16 = fc.integer({ min: 0, max: 0xffff }).map((n) => n.toString(16));
const ip4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((o) => o.join('.'));
const ip6 = fc.array(hex16, { minLength: 8, maxLength: 8 }).map((g) => g.join(':'));
const cidr4 = fc.tuple(ip4, fc.nat(32)).map(([a, p]) => `${a}/${p}`);
const cidr6 = fc.tuple(ip6, fc.nat(128)).map(([a, p]) => `${a}/${p}`);
const text = fc.string({ minLength: 1, maxLength: 12 });
const opt = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined });
const posInt = fc.integer({ min: 1, max: 65535 });

const route = fc
  .oneof(fc.tuple(cidr4, opt(ip4)), fc.tuple(cidr6, opt(ip6)))
  .chain(([dst, gw]) =>
    fc.record(
      { dst: fc.constant(dst), gw: fc.constant(gw), mtu: posInt, advmss: posInt, priority: posInt, table: fc.nat(255), scope: fc.nat(255) },
      { requiredKeys: ['dst'] },
    ),
  );
const iface = fc.record(
  {
    name: fc.stringMatching(/^[a-z][a-z0-9]{0,14}$/),
    mac: fc.constant('0a:58:0a:00:00:01'),
    mtu: posInt,
    sandbox: text,
    socketPath: text,
    pciID: text,
  },
  { requiredKeys: ['name'] },
);
const ipConfig = (ifaces: number) =>
  fc
    .oneof(fc.tuple(cidr4, opt(ip4)), fc.tuple(cidr6, opt(ip6)))
    .chain(([address, gateway]) =>
      fc.record(
        { address: fc.constant(address), gateway: fc.constant(gateway), interface: fc.nat(Math.max(ifaces - 1, 0)) },
        { requiredKeys: ['address'] },
      ),
    );
const dns = fc.record(
  { nameservers: fc.array(ip4, { minLength: 1, maxLength: 2 }), domain: text, search: fc.array(text, { minLength: 1, maxLength: 2 }) },
  {
    requiredKeys: [],
  },
);

/** A 1.1.0 result as a plugin returns it, with every field the newest version has. */
const result: fc.Arbitrary<Result> = fc.array(iface, { maxLength: 3 }).chain((interfaces) =>
  fc.record(
    {
      cniVersion: fc.constant('1.1.0'),
      interfaces: fc.constant(interfaces),
      ips: fc.array(ipConfig(interfaces.length), { maxLength: 4 }),
      routes: fc.array(route, { maxLength: 4 }),
      dns,
    },
    { requiredKeys: ['cniVersion'] },
  ),
);

/** The result in `version`'s shape, or undefined where the reference cannot convert it (no IP for 0.1/0.2). */
function asVersion(r: Result, version: string) {
  try {
    return resultForVersion(r, version);
  } catch (e) {
    expect(resultFamily(version)).toBe('020');
    expect((e as Error).message).toBe('cannot convert: no valid IP addresses');
    expect(r.ips ?? []).toHaveLength(0);
    return undefined;
  }
}

/** Each version with the result in its shape; those the reference cannot convert it to are left out. */
function* inEveryVersion(r: Result) {
  for (const v of ALL_VERSIONS) {
    const conv = asVersion(r, v);
    if (conv) yield [v, conv] as const;
  }
}

const familyOf = (cidr: string) => (cidr.includes(':') ? '6' : '4');

describe('result conversion', () => {
  test('every conversion prints JSON that the target version parses back to the same text', () => {
    fc.assert(
      fc.property(result, (r) => {
        for (const [v, conv] of inEveryVersion(r)) {
          const printed = formatResult(conv, v);
          const json = JSON.parse(printed) as Record<string, unknown>;
          expect(json.cniVersion).toBe(v);
          const fam = resultFamily(v);
          const keys = fam === '020' ? ['cniVersion', 'ip4', 'ip6', 'dns'] : ['cniVersion', 'interfaces', 'ips', 'routes', 'dns'];
          for (const k of Object.keys(json)) expect(keys).toContain(k);
          for (const ip of (json.ips ?? []) as Array<{ version?: string; address: string }>) {
            expect(ip.version).toBe(fam === '040' ? familyOf(ip.address) : undefined);
          }
          expect(formatResult(parseResult(json, v), v)).toBe(printed);
        }
      }),
      RUNS,
    );
  });

  test('up then down gives back what the older version holds', () => {
    fc.assert(
      fc.property(result, (r) => {
        for (const [older, low] of inEveryVersion(r)) {
          for (const newer of ALL_VERSIONS.filter((w) => versionAtLeast(w, older))) {
            const back = convertResult(convertResult(low, older, newer), newer, older);
            expect(formatResult(back, older)).toBe(formatResult(low, older));
          }
        }
      }),
      RUNS,
    );
  });

  test("the reference's rules: what each older version keeps and drops", () => {
    fc.assert(
      fc.property(result, (r) => {
        const json = (v: string) => {
          const c = asVersion(r, v);
          return c && (JSON.parse(formatResult(c, v)) as Record<string, never>);
        };
        const full = json('1.1.0');
        // 1.1.0 → 1.0.0: a straight copy
        expect({ ...json('1.0.0'), cniVersion: '1.1.0' }).toEqual(full);
        // → 0.4.0: the same routes (extras included) and addresses; interfaces lose mtu, socketPath, pciID
        const v040 = json('0.4.0');
        expect(v040?.routes).toEqual(full?.routes);
        expect((v040?.ips as Array<{ address: string }> | undefined)?.map((i) => i.address)).toEqual(
          (full?.ips as Array<{ address: string }> | undefined)?.map((i) => i.address),
        );
        for (const i of (v040?.interfaces ?? []) as Array<Record<string, unknown>>) {
          expect(Object.keys(i).every((k) => ['name', 'mac', 'sandbox'].includes(k))).toBe(true);
        }
        // → 0.2.0: the first address of each family; its family's routes with dst and gw only
        const v020 = json('0.2.0') as Record<string, { ip: string; routes?: Array<Record<string, string>> }> | undefined;
        if (!v020) return;
        const ips = (full?.ips ?? []) as Array<{ address: string }>;
        const routes = (full?.routes ?? []) as Array<{ dst: string; gw?: string }>;
        for (const [key, f] of [
          ['ip4', '4'],
          ['ip6', '6'],
        ] as const) {
          const first = ips.find((i) => familyOf(i.address) === f);
          expect(v020[key]?.ip).toBe(first?.address);
          const want = first
            ? routes.filter((x) => familyOf(x.dst) === f).map((x) => (x.gw ? { dst: x.dst, gw: x.gw } : { dst: x.dst }))
            : [];
          expect(v020[key]?.routes ?? []).toEqual(want);
        }
      }),
      RUNS,
    );
  });

  test('any JSON handed to the result parser of any version is a result or a CniError', () => {
    const anyResult = fc.oneof(
      fc.jsonValue(),
      fc.dictionary(fc.constantFrom('cniVersion', 'ips', 'ip4', 'ip6', 'interfaces', 'routes', 'dns', 'x'), fc.jsonValue()),
    );
    fc.assert(
      fc.property(anyResult, fc.constantFrom(...ALL_VERSIONS), (raw, v) => {
        try {
          parseResult(raw, v);
        } catch (e) {
          expect(e).toBeInstanceOf(CniError);
          expect((e as CniError).code).toBe(7);
          expect((e as CniError).message).not.toBe('');
        }
      }),
      { numRuns: 400, seed: 13 },
    );
  });
});
