// Writing flanneld's subnet.env for the flannel plugin (which reads it: plugins/flannel/subnet-env.ts),
// and the state file that remembers the node's last subnet. Both are replaced atomically (a temporary
// file renamed over), so a pod's ADD reads the old or the new lease, never half of one.
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { cidrText, type Cidr } from '../net/ip.js';
import { firstAddressText } from './subnets.js';

/** What subnet.env says about this node's lease. */
export interface SubnetEnvContent {
  network: Cidr;
  subnet: Cidr;
  network6?: Cidr;
  subnet6?: Cidr;
  mtu: number;
}

/** The file's text: the keys flanneld writes; IPMASQ false since the delegate masquerades (exempting the cluster). */
export function subnetEnvText(c: SubnetEnvContent): string {
  const lines = [`FLANNEL_NETWORK=${cidrText(c.network)}`, `FLANNEL_SUBNET=${firstAddressText(c.subnet)}`];
  if (c.network6 && c.subnet6)
    lines.push(`FLANNEL_IPV6_NETWORK=${cidrText(c.network6)}`, `FLANNEL_IPV6_SUBNET=${firstAddressText(c.subnet6)}`);
  lines.push(`FLANNEL_MTU=${c.mtu}`, 'FLANNEL_IPMASQ=false');
  return `${lines.join('\n')}\n`;
}

/** Replace `path` by `text` atomically, creating its directory. */
async function replaceFile(path: string, text: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, text, { mode: 0o644 });
  await rename(tmp, path);
}

/** Write subnet.env (temporary file + rename). */
export async function writeSubnetEnv(path: string, c: SubnetEnvContent): Promise<void> {
  await replaceFile(path, subnetEnvText(c));
}

/** Remove subnet.env: flannel ADDs answer code 11 until it is written again. */
export async function removeSubnetEnv(path: string): Promise<void> {
  await rm(path, { force: true });
}

const STATE_FILE = 'subnet';

/** The IPv4 subnet (CIDR text) this node last leased, if the state directory remembers one. */
export async function readLastSubnet(stateDir: string): Promise<string | undefined> {
  try {
    return (await readFile(join(stateDir, STATE_FILE), 'utf8')).trim() || undefined;
  } catch {
    return undefined;
  }
}

/** Remember the IPv4 subnet leased, for the next start. */
export async function writeLastSubnet(stateDir: string, subnet: string): Promise<void> {
  await replaceFile(join(stateDir, STATE_FILE), `${subnet}\n`);
}
