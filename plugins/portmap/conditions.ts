// portmap's conditionsV4 / conditionsV6 in their nftables form: the matches the reference's
// nftables backend puts in front of its DNAT jump
// (https://github.com/containernetworking/plugins/blob/main/plugins/meta/portmap/portmap_nftables.go),
// here in front of the network's own DNAT rules. The strings are joined with spaces, as the
// reference joins them (knftables Concat), and read as a sequence of `<selector> [== | !=] <value>`.
import type { PortmapCondition } from '../../src/native.js';
import { formatCidr, formatIp, networkOf, parseCidr, parseIp } from '../../src/net/ip.js';
import { CniError, ErrorCode } from '../../src/spec/errors.js';

export type ConditionsField = 'conditionsV4' | 'conditionsV6';

const SELECTORS: Record<ConditionsField, string[]> = {
  conditionsV4: ['ip saddr', 'ip daddr', 'iifname'],
  conditionsV6: ['ip6 saddr', 'ip6 daddr', 'iifname'],
};

// an interface name (at most IFNAMSIZ - 1 bytes, no "/" or blank), optionally a "*" prefix match
const IFNAME = /^[^\s/"*]{1,15}\*?$/;

function invalid(field: ConditionsField, message: string): CniError {
  return new CniError(ErrorCode.InvalidNetworkConfig, `${field}: ${message}`);
}

/** An address or CIDR of the family, as the rule will match it (a CIDR's host bits dropped). */
function addressValue(field: ConditionsField, selector: string, token: string): string {
  const family = field === 'conditionsV4' ? 4 : 6;
  const cidr = token.includes('/') ? parseCidr(token) : undefined;
  const ip = cidr ? cidr.ip : parseIp(token);
  const name = family === 4 ? 'IPv4' : 'IPv6';
  if (!ip || (cidr && cidr.bits !== (family === 4 ? 32 : 128))) {
    throw invalid(field, `${JSON.stringify(token)} after "${selector}" is not an ${name} address or CIDR`);
  }
  if (ip.family !== family) throw invalid(field, `${JSON.stringify(token)} after "${selector}" is not an ${name} address`);
  if (!cidr || cidr.prefix === cidr.bits) return formatIp(ip);
  if (cidr.prefix === 0) throw invalid(field, `${JSON.stringify(token)} after "${selector}": a /0 prefix matches every address`);
  return formatCidr(networkOf(cidr), cidr.prefix);
}

/**
 * The matches of one conditions field, typed for the native call; an empty list means none.
 * Anything outside the supported grammar is code 7 naming the field and the token.
 */
export function parseConditions(field: ConditionsField, conds: readonly string[] | undefined): PortmapCondition[] {
  const tokens = (conds ?? []).join(' ').split(/\s+/).filter(Boolean);
  const out: PortmapCondition[] = [];
  let i = 0;
  while (i < tokens.length) {
    const first = tokens[i] ?? '';
    // "meta iifname" is nft's long form of "iifname"; "ip"/"ip6" take the next token
    const twoWords = first === 'meta' || first === 'ip' || first === 'ip6';
    const selector = twoWords ? `${first} ${tokens[i + 1] ?? ''}`.trim() : first;
    const canonical = selector === 'meta iifname' ? 'iifname' : selector;
    if (!SELECTORS[field].includes(canonical)) {
      const other = field === 'conditionsV4' ? 'conditionsV6' : 'conditionsV4';
      const hint = SELECTORS[other].includes(canonical)
        ? ` (it belongs in ${other})`
        : ` (supported: ${SELECTORS[field].join(', ')}, meta iifname)`;
      throw invalid(field, `unsupported selector ${JSON.stringify(selector)}${hint}`);
    }
    i += twoWords ? 2 : 1;
    let negate = false;
    if (tokens[i] === '==' || tokens[i] === '!=') {
      negate = tokens[i] === '!=';
      i += 1;
    }
    const value = tokens[i];
    if (value === undefined) throw invalid(field, `missing value after "${selector}"`);
    i += 1;
    if (canonical === 'iifname') {
      const name = value.replace(/^"(.*)"$/, '$1');
      if (!IFNAME.test(name)) throw invalid(field, `${JSON.stringify(value)} after "${selector}" is not an interface name`);
      out.push({ selector: canonical, negate, value: name });
    } else {
      out.push({ selector: canonical, negate, value: addressValue(field, selector, value) });
    }
  }
  return out;
}
