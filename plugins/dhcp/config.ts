// The dhcp plugin's config: the reference's `ipam` fields
// (https://github.com/containernetworking/plugins/blob/main/plugins/ipam/dhcp/main.go, IPAMConfig;
// option names and defaults from options.go and lease.go): `daemonSocketPath`, `request`, `provide`
// and `priority`. Options are checked here, before the daemon is asked for anything.
import { z } from 'zod';
import { netConfSchema } from '../../src/spec/net-conf.js';
import { DEFAULT_DAEMON_SOCKET } from '../../src/dhcp/protocol.js';

/** The option names the reference knows besides numbers (dhcp-options(5) spelling). */
const OPTION_NAMES: Readonly<Record<string, number>> = {
  'dhcp-client-identifier': 61,
  'subnet-mask': 1,
  routers: 3,
  'host-name': 12,
  'user-class': 77,
  'vendor-class-identifier': 60,
};

/** What the reference requests unless an entry says skipDefault: routers, subnet mask. */
const DEFAULT_REQUEST = [3, 1];

/** An option value fits one length octet. */
const MAX_VALUE = 255;

/** An option's code from its name or decimal number, as the reference's parseOptionName. */
export function optionCode(option: string | number): number | undefined {
  if (typeof option === 'number') return Number.isInteger(option) && option >= 0 && option <= 255 ? option : undefined;
  if (Object.hasOwn(OPTION_NAMES, option)) return OPTION_NAMES[option];
  return /^\d{1,3}$/.test(option) && Number(option) <= 255 ? Number(option) : undefined;
}

const optionField = z.union([z.string(), z.number()]);

const dhcpIpamSchema = z
  .object({
    type: z.string().optional(),
    daemonSocketPath: z.string().optional(),
    request: z.array(z.object({ option: optionField, skipDefault: z.boolean().optional() }).loose()).nullish(),
    provide: z.array(z.object({ option: optionField, value: z.string().optional(), fromArg: z.string().optional() }).loose()).nullish(),
    priority: z.number().int().min(0).max(0xffffffff).optional(),
  })
  .loose();

/** An option to send: a fixed value, or the value of a CNI_ARGS key at request time. */
export interface ProvideOption {
  code: number;
  value?: string;
  fromArg?: string;
}

/** The dhcp plugin's config after validation: what the handlers use. */
export interface DhcpConfig {
  /** the network name, part of the client ID */
  name: string;
  daemonSocketPath: string;
  /** the parameter request list, in order */
  request: number[];
  provide: ProvideOption[];
  /** metric of the routes in the result */
  priority?: number;
}

export const dhcpConfigSchema = netConfSchema.extend({ ipam: dhcpIpamSchema.optional() }).transform((n, ctx): DhcpConfig => {
  const fail = (message: string, path: Array<string | number>): never => {
    ctx.issues.push({ code: 'custom', message, input: n, path });
    return z.NEVER as never;
  };
  const ipam = n.ipam;
  if (!ipam) return fail("IPAM config missing 'ipam' key", ['ipam']);
  const code = (option: string | number, path: Array<string | number>): number => {
    const c = optionCode(option);
    return c ?? fail(`Can not parse option ${JSON.stringify(String(option))}: not an option name nor a number from 0 to 255`, path);
  };
  const provide = (ipam.provide ?? []).map((p, i): ProvideOption => {
    const path = ['ipam', 'provide', i];
    if (p.value !== undefined && Buffer.byteLength(p.value) > MAX_VALUE) {
      fail(`value too long for option ${JSON.stringify(String(p.option))}: more than ${MAX_VALUE} bytes`, [...path, 'value']);
    }
    if (!p.value && !p.fromArg) fail('needs a value or fromArg', path);
    return {
      code: code(p.option, [...path, 'option']),
      ...(p.value ? { value: p.value } : {}),
      ...(p.fromArg ? { fromArg: p.fromArg } : {}),
    };
  });
  const requested = (ipam.request ?? []).map((r, i) => code(r.option, ['ipam', 'request', i, 'option']));
  const skipDefault = (ipam.request ?? []).some((r) => r.skipDefault);
  const request = [...new Set([...requested, ...(skipDefault ? [] : DEFAULT_REQUEST)])];
  return {
    name: n.name,
    daemonSocketPath: ipam.daemonSocketPath || DEFAULT_DAEMON_SOCKET,
    request,
    provide,
    ...(ipam.priority !== undefined ? { priority: ipam.priority } : {}),
  };
});
