// Where src/spec/ip.ts and src/ipam/ip.ts disagree today: the table the single IP module is decided on.
import { describe, expect, it } from 'vitest';
import * as spec from '../../src/spec/ip.js';
import * as ipam from '../../src/ipam/ip.js';

/** Go's net.ParseCIDR (host bits kept, as types.ParseCIDR) then IPNet.String(), or undefined. */
const cases: Array<{ input: string; spec: string | undefined; ipam: string | undefined }> = [
  { input: '::ffff:10.0.0.1/64', spec: '10.0.0.1/0', ipam: undefined },
  { input: '::ffff:10.0.0.1/24', spec: '10.0.0.1/0', ipam: undefined },
  { input: '::ffff:10.0.0.1/0', spec: '10.0.0.1/0', ipam: undefined },
];

describe('IPv4-mapped address under an IPv6 prefix shorter than 96', () => {
  it.each(cases)('$input', (c) => {
    expect(spec.parseCidr(c.input)?.text).toBe(c.spec);
    const i = ipam.parseCidr(c.input);
    expect(i && ipam.formatCidr(i.ip, i.prefix)).toBe(c.ipam);
  });
});
