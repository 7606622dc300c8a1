// The node's sysctl allowlist: when the file exists, every sysctl a config sets must match one of its
// lines (regular expressions), as in the reference's validateSysctlConf. Its path is fixed in the
// reference; here CNI_TUNING_ALLOWLIST in the request's environment names another file (CNI_*, since
// the launcher forwards only CNI_* variables and PATH to the agent).
import { readFile } from 'node:fs/promises';
import { CniError, ErrorCode } from '../../src/spec/errors.js';
import type { PluginContext } from '../../src/skel/types.js';
import type { Sysctl } from './config.js';

export const DEFAULT_ALLOWLIST = '/etc/cni/tuning/allowlist.conf';

/** The allowlist's patterns, or undefined when there is no allowlist file. */
async function readAllowlist(path: string, local: string): Promise<RegExp[] | undefined> {
  let text: string;
  try {
    text = await readFile(local, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new CniError(ErrorCode.IoFailure, `cannot read sysctl allowlist ${path}: ${(e as Error).message}`, undefined, { cause: e });
  }
  const lines = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '');
  return lines.map((line) => {
    try {
      return new RegExp(line);
    } catch (e) {
      throw new CniError(ErrorCode.Internal, `sysctl allowlist ${path}: invalid pattern ${JSON.stringify(line)}: ${(e as Error).message}`);
    }
  });
}

/** Refuse (code 7, naming the field) a sysctl that the allowlist, if there is one, does not match. */
export async function checkAllowlist(sysctls: readonly Sysctl[], ctx: PluginContext): Promise<void> {
  if (sysctls.length === 0) return;
  const path = ctx.env.CNI_TUNING_ALLOWLIST || DEFAULT_ALLOWLIST;
  const allowed = await readAllowlist(path, ctx.paths.local(path));
  if (!allowed) return;
  for (const s of sysctls) {
    if (!allowed.some((re) => re.test(s.key))) {
      throw new CniError(
        ErrorCode.InvalidNetworkConfig,
        `${s.field}: Sysctl ${s.key} is not allowed. Only the following sysctls are allowed: [${allowed.map((r) => r.source).join(' ')}]`,
      );
    }
  }
}
