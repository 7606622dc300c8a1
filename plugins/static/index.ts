// The static IPAM plugin (fastcni-plugin): the addresses, routes and DNS a config names, returned as
// they are, as the reference does (https://github.com/containernetworking/plugins/blob/main/plugins/ipam/static/main.go).
// No state: DEL has nothing to release. Fields and differences: ./README.md.
import { definePlugin } from '../../src/skel/define-plugin.js';
import type { PluginContext } from '../../src/skel/types.js';
import type { Result } from '../../src/spec/result.js';
import { CniError, ErrorCode } from '../../src/spec/errors.js';
import { formatIp, ipEqual, parseCidr, parseIp } from '../../src/net/ip.js';
import { addressText, resolveAddresses, staticConfigSchema, type StaticConfig } from './config.js';

async function add(conf: StaticConfig, ctx: PluginContext): Promise<Result> {
  const addresses = resolveAddresses(conf, ctx.env.CNI_ARGS, ctx.log);
  const ipam = conf.ipam!;
  return {
    ips: addresses.map((a) => ({ address: addressText(a), ...(a.gateway ? { gateway: formatIp(a.gateway) } : {}) })),
    ...(ipam.routes?.length ? { routes: ipam.routes } : {}),
    ...(ipam.dns ? { dns: ipam.dns } : {}),
  };
}

/** Nothing was allocated, so nothing is released. */
async function del(): Promise<void> {}

/**
 * Each address this request would return is in prevResult, with the configured gateway when it
 * has one. The reference passes an address missing from prevResult; a missing address is an error
 * here (the spec's CHECK: a resource the plugin set up is missing).
 */
async function check(conf: StaticConfig, ctx: PluginContext): Promise<void> {
  const addresses = resolveAddresses(conf, ctx.env.CNI_ARGS, ctx.log);
  if (!ctx.prevResult) throw new CniError(ErrorCode.Internal, 'Required prevResult missing');
  const have = (ctx.prevResult.ips ?? []).map((ip) => ({
    ip: parseCidr(ip.address)?.ip,
    gateway: ip.gateway ? parseIp(ip.gateway) : undefined,
  }));
  for (const want of addresses) {
    const found = have.find((h) => ipEqual(h.ip, want.cidr.ip));
    const shown = formatIp(want.cidr.ip);
    if (!found) throw new CniError(ErrorCode.Internal, `static: address ${shown} is not in prevResult (interface ${ctx.ifname})`);
    if (want.gateway && !ipEqual(found.gateway, want.gateway)) {
      throw new CniError(ErrorCode.Internal, `static: Failed to match addr ${shown} on interface ${ctx.ifname}`);
    }
  }
}

/** static, ready to invoke or run as a process entry point. */
export const staticIpam = definePlugin({
  name: 'static',
  about: 'fastcni static IPAM plugin',
  config: staticConfigSchema,
  add,
  del,
  check,
});
export default staticIpam;
