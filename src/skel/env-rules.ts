// The CNI_* environment rules of the reference skel as one table: which variable each command needs.
import { CniError, ErrorCode } from '../spec/errors.js';
import { validateContainerId, validateInterfaceName } from '../spec/validate-names.js';

/** Commands that carry a request config. */
export type Command = 'ADD' | 'DEL' | 'CHECK' | 'GC' | 'STATUS';

interface EnvRule {
  name: string;
  /** commands for which the variable must be non-empty (CNI_COMMAND itself is always required) */
  requiredFor: readonly string[];
  /** checked, in table order, when the variable is set and required */
  validate?: (value: string) => void;
}

/** The reference skel's table (pkg/skel getCmdArgsFromEnv), in its order. */
export const ENV_RULES: readonly EnvRule[] = [
  { name: 'CNI_COMMAND', requiredFor: ['ADD', 'CHECK', 'DEL', 'GC', 'STATUS'] },
  { name: 'CNI_CONTAINERID', requiredFor: ['ADD', 'CHECK', 'DEL'], validate: validateContainerId },
  { name: 'CNI_NETNS', requiredFor: ['ADD', 'CHECK'] },
  { name: 'CNI_IFNAME', requiredFor: ['ADD', 'CHECK', 'DEL'], validate: validateInterfaceName },
  { name: 'CNI_ARGS', requiredFor: [] },
  { name: 'CNI_PATH', requiredFor: ['ADD', 'CHECK', 'DEL', 'GC', 'STATUS'] },
  { name: 'CNI_NETNS_OVERRIDE', requiredFor: [] },
];

/**
 * Check the environment for a command: a set, required variable is validated immediately (bad
 * container ID or ifname → 4); all missing ones are reported together as code 4
 * "required env variables [A,B] missing". An empty value counts as missing, as with Go's Getenv.
 */
export function checkEnv(env: Record<string, string | undefined>): string {
  const cmd = env.CNI_COMMAND ?? '';
  const missing: string[] = [];
  for (const rule of ENV_RULES) {
    const value = env[rule.name] ?? '';
    const required = rule.requiredFor.includes(cmd);
    if (value === '') {
      if (required || rule.name === 'CNI_COMMAND') missing.push(rule.name);
    } else if (required && rule.validate) {
      rule.validate(value);
    }
  }
  if (missing.length > 0) {
    throw new CniError(ErrorCode.InvalidEnvironment, `required env variables [${missing.join(',')}] missing`);
  }
  return cmd;
}
