// portmap's conditionsV4/V6 grammar (nftables form): what is accepted, how it is normalised for
// the native call, and each refusal's code and message naming the field and the token.
import { describe, expect, it } from 'vitest';
import { type ConditionsField, parseConditions } from '../../plugins/portmap/conditions.js';
import { CniError } from '../../src/spec/errors.js';

describe('portmap conditions', () => {
  it('reads a sequence of matches however the strings split it, as the reference joins them', () => {
    const joined = parseConditions('conditionsV4', ['ip saddr != 10.0.0.0/8 meta iifname "eth*"']);
    expect(parseConditions('conditionsV4', ['ip', 'saddr', '!=', '10.0.0.0/8', 'meta', 'iifname', '"eth*"'])).toEqual(joined);
    expect(joined).toEqual([
      { selector: 'ip saddr', negate: true, value: '10.0.0.0/8' },
      { selector: 'iifname', negate: false, value: 'eth*' },
    ]);
    // "==" is the default; a CIDR loses its host bits; a full-length prefix is one address
    expect(parseConditions('conditionsV6', ['ip6 daddr == fd00:0:0::1/64 ip6 saddr fd00::5/128 iifname lo'])).toEqual([
      { selector: 'ip6 daddr', negate: false, value: 'fd00::/64' },
      { selector: 'ip6 saddr', negate: false, value: 'fd00::5' },
      { selector: 'iifname', negate: false, value: 'lo' },
    ]);
    expect(parseConditions('conditionsV4', [])).toEqual([]);
    expect(parseConditions('conditionsV4', undefined)).toEqual([]);
  });

  it.each<[ConditionsField, string[], RegExp]>([
    ['conditionsV4', ['tcp dport 80'], /^conditionsV4: unsupported selector "tcp" \(supported: ip saddr, ip daddr, iifname/],
    ['conditionsV4', ['ip protocol tcp'], /^conditionsV4: unsupported selector "ip protocol"/],
    ['conditionsV4', ['ip6 saddr fd00::/8'], /^conditionsV4: unsupported selector "ip6 saddr" \(it belongs in conditionsV6\)/],
    ['conditionsV4', ['ip saddr fd00::1'], /^conditionsV4: "fd00::1" after "ip saddr" is not an IPv4 address/],
    ['conditionsV6', ['ip6 daddr 10.0.0.0/8'], /^conditionsV6: "10.0.0.0\/8" after "ip6 daddr" is not an IPv6 address/],
    ['conditionsV4', ['ip saddr !='], /^conditionsV4: missing value after "ip saddr"$/],
    ['conditionsV4', ['ip daddr 10.0.0.0/33'], /^conditionsV4: "10.0.0.0\/33" after "ip daddr" is not an IPv4 address or CIDR/],
    ['conditionsV4', ['ip daddr 0.0.0.0/0'], /^conditionsV4: "0.0.0.0\/0" after "ip daddr": a \/0 prefix/],
    ['conditionsV4', ['iifname a/b'], /^conditionsV4: "a\/b" after "iifname" is not an interface name/],
    ['conditionsV4', ['iifname abcdefghijklmnop'], /is not an interface name/],
    ['conditionsV6', ['ip6 saddr < fd00::1'], /^conditionsV6: "<" after "ip6 saddr" is not an IPv6 address or CIDR/],
  ])('%s %j: code 7 naming the token', (field, conds, msg) => {
    let err: unknown;
    try {
      parseConditions(field, conds);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CniError);
    expect((err as CniError).code).toBe(7);
    expect((err as CniError).message).toMatch(msg);
  });
});
