// Reusable zod field types for configs and results: Go-style booleans, IPs and CIDRs with CNI messages.
import { z } from 'zod';
import { cidrText, familyPrefix, parseCidr, parseIp } from '../net/ip.js';
import { validateInterfaceName } from './validate-names.js';

/** A boolean that also accepts "true"/"false" in any case, as libcni does for disableCheck/disableGC. */
export const looseBool = z.unknown().transform((v, ctx): boolean => {
  if (typeof v === 'boolean') return v;
  if (typeof v === 'string') {
    const l = v.toLowerCase();
    if (l === 'true') return true;
    if (l === 'false') return false;
  }
  const message =
    typeof v === 'string'
      ? `invalid boolean value ${JSON.stringify(v)}`
      : `invalid type ${v === null ? 'null' : typeof v}, expected boolean`;
  ctx.issues.push({ code: 'custom', message, input: v });
  return z.NEVER;
});

/** An IP address (IPv4 or IPv6) as Go's net.ParseIP accepts it; message `invalid IP "x"`. */
export const ipString = z.string().refine((s) => parseIp(s) !== undefined, { error: (iss) => `invalid IP ${JSON.stringify(iss.input)}` });

/** A CIDR with host bits allowed, as types.ParseCIDR accepts it; message `invalid CIDR "x"`. */
export const cidrString = z
  .string()
  .refine((s) => parseCidr(s) !== undefined, { error: (iss) => `invalid CIDR ${JSON.stringify(iss.input)}` });

/**
 * ipMasq's `nonMasqueradeCIDRs` (bridge, ptp; the name of ip-masq-agent's setting): destinations
 * left unmasqueraded besides the pod's own subnet, IPv4 and IPv6 mixed, each given back in Go's
 * form. A /0 is refused: it would exempt every destination of its family, which `ipMasq: false`
 * says plainly.
 */
export const nonMasqueradeCidrs = z.array(
  z.string().transform((s, ctx) => {
    const c = parseCidr(s);
    if (!c) ctx.addIssue({ code: 'custom', message: `invalid CIDR ${JSON.stringify(s)}` });
    else if (familyPrefix(c) === 0)
      ctx.addIssue({ code: 'custom', message: `${JSON.stringify(s)} would exempt every destination (use ipMasq: false)` });
    else return cidrText(c);
    return z.NEVER;
  }),
);

/** 6 octets, ':' or '-' between them: the MACs the kernel takes for an Ethernet link. */
export const MAC_ADDRESS = /^[0-9a-f]{2}([:-])[0-9a-f]{2}(\1[0-9a-f]{2}){4}$/i;

/** A MAC address field ('' meaning none); code 7 naming the field when it is not one. */
export const macSchema = z
  .string()
  .refine((m) => m === '' || MAC_ADDRESS.test(m), { error: (i) => `invalid MAC address ${JSON.stringify(i.input)}` });

/** An integer (Go int fields reject fractions). */
export const goInt = z.number().int();

/**
 * A link name a config names (a bridge, say), under the kernel's rules for names (dev_valid_name) as
 * CNI_IFNAME is checked: refused while the config is read, before IPAM reserves anything.
 */
export const linkName = z.string().superRefine((s, ctx) => {
  try {
    validateInterfaceName(s);
  } catch (e) {
    ctx.addIssue({ code: 'custom', message: `invalid name ${JSON.stringify(s)}: ${(e as Error).message}` });
  }
});
