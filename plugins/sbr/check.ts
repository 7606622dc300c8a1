// The sbr plugin's CHECK, where the reference does nothing: every address of the interface in
// prevResult still has its rule, in the fixed table or in a table that still routes through the
// interface (with the default route via its gateway, when it has one).
import type { PluginContext } from '../../src/skel/types.js';
import { CniError, ErrorCode } from '../../src/spec/errors.js';
import { addressOf, canonicalIp } from '../../src/net/ip.js';
import { sbrInspect, type SbrRuleState } from '../../src/native.js';
import type { SbrConfig } from './config.js';
import { chained, interfaceIps, sbrAddresses } from './plan.js';

const DEFAULT_ROUTES = new Set(['0.0.0.0/0', '::/0']);

/** What is wrong with one address's rule and table, if anything. */
function problem(state: SbrRuleState | undefined, ip: string, gateway: string | undefined, table: number | undefined): string | undefined {
  if (!state) return `no rule from ${ip}`;
  if (table !== undefined) return state.table === table ? undefined : `the rule from ${ip} looks up table ${state.table}, not ${table}`;
  if (!state.routes.length) return `table ${state.table} of the rule from ${ip} has no route through the interface`;
  const gw = gateway && canonicalIp(gateway);
  if (gw && !state.routes.some((r) => DEFAULT_ROUTES.has(r.dst) && r.gw === gw)) {
    return `table ${state.table} has no default route via ${gw}`;
  }
  return undefined;
}

/** CHECK: the rules and tables ADD made for the interface are there. */
export async function checkRouting(conf: SbrConfig, ctx: PluginContext): Promise<void> {
  const prev = chained(ctx.prevResult);
  const rules = await sbrInspect({ netns: ctx.paths.local(ctx.netns), ifname: ctx.ifname });
  for (const a of sbrAddresses(interfaceIps(prev, ctx.ifname), conf.gateways ?? [])) {
    const ip = addressOf(a.address);
    const state = rules.find((r) => r.source === ip);
    const wrong = problem(state, ip, a.gateway, conf.table ?? undefined);
    if (wrong) throw new CniError(ErrorCode.Internal, `sbr: ${wrong} (interface ${ctx.ifname})`);
  }
}
