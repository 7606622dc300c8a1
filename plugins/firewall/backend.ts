// Which backend serves a request: our nf_tables rules (the reference's iptables semantics) or
// firewalld, which fastcni does not drive. The default follows the reference: firewalld when its
// D-Bus name has an owner, else iptables.
import type { PluginContext } from '../../src/skel/types.js';
import { CniError, ErrorCode } from '../../src/spec/errors.js';
import { DEFAULT_SYSTEM_BUS, nameHasOwner } from './dbus.js';
import type { FirewallConfig } from './config.js';

const FIREWALLD = 'org.fedoraproject.FirewallD1';

/** The system bus address as libdbus takes it: the request's environment, else this process's. */
function systemBus(ctx: PluginContext): string {
  return ctx.env.DBUS_SYSTEM_BUS_ADDRESS || process.env.DBUS_SYSTEM_BUS_ADDRESS || DEFAULT_SYSTEM_BUS;
}

/**
 * Resolve when our nf_tables rules serve this config; throw code 2 naming the field when it needs
 * firewalld. A bus that fails to answer counts as "firewalld not running" for the default, as the
 * reference's check does.
 */
export async function requireNftBackend(conf: FirewallConfig, ctx: PluginContext): Promise<void> {
  if (conf.backend === 'iptables') return;
  const address = systemBus(ctx);
  const answer = await nameHasOwner({ address, name: FIREWALLD, local: (p) => ctx.paths.local(p) }).catch((e: unknown) => {
    if (conf.backend === '') return undefined;
    throw new CniError(ErrorCode.UnsupportedField, `backend "firewalld": ${(e as Error).message}`);
  });
  if (conf.backend === '' && !(answer?.bus === 'present' && answer.owned)) return;
  const why = !answer
    ? 'firewalld is not on the D-Bus'
    : answer.bus === 'absent'
      ? `firewalld is not on the D-Bus (no system bus at ${answer.socket})`
      : answer.owned
        ? `firewalld owns ${FIREWALLD} on the system bus`
        : `firewalld is not on the D-Bus (${FIREWALLD} has no owner on the bus at ${answer.socket})`;
  const chosen = conf.backend === '' ? 'the default backend is "firewalld" because ' : '';
  throw new CniError(
    ErrorCode.UnsupportedField,
    `backend "firewalld" is not supported by fastcni (${chosen}${why}); use backend "iptables" for fastcni's nf_tables rules`,
  );
}
