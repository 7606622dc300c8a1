// Whether this kernel can make a link kind (dummy, vrf, ipvlan, vlan are modules some kernels lack),
// probed the way the plugins would hit it: creating one in a scratch namespace, removed at once.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { NS_PREFIX, removeNetns } from './netns.js';

const known = new Map<string, boolean>();

/** `ip link add probe0 type <kind> <args…>` succeeds in a scratch namespace. */
export function kernelHasLinkKind(kind: string, ...args: string[]): boolean {
  const key = [kind, ...args].join(' ');
  let has = known.get(key);
  if (has === undefined) {
    const ns = `${NS_PREFIX}probe-${randomBytes(3).toString('hex')}`;
    try {
      execFileSync('ip', ['netns', 'add', ns]);
      execFileSync('ip', ['-n', ns, 'link', 'add', 'probe0', 'type', kind, ...args], { stdio: 'ignore' });
      has = true;
    } catch {
      has = false;
    } finally {
      removeNetns(ns);
    }
    known.set(key, has);
  }
  return has;
}
