// Helpers for flannel tests: a hand-written subnet.env, configs pointing every path into a temp dir.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** A single-stack IPv4 lease as flanneld writes it. */
export const SUBNET_ENV_V4 = [
  'FLANNEL_NETWORK=10.244.0.0/16',
  'FLANNEL_SUBNET=10.244.1.1/24',
  'FLANNEL_MTU=1450',
  'FLANNEL_IPMASQ=true',
  '',
].join('\n');

/** A dual-stack lease. */
export const SUBNET_ENV_DUAL = [
  'FLANNEL_NETWORK=10.244.0.0/16',
  'FLANNEL_SUBNET=10.244.1.1/24',
  'FLANNEL_IPV6_NETWORK=fd00:10:244::/56',
  'FLANNEL_IPV6_SUBNET=fd00:10:244:1::1/64',
  'FLANNEL_MTU=1450',
  'FLANNEL_IPMASQ=false',
  '',
].join('\n');

/** Write subnet.env into `dir`; its path. */
export function writeSubnetEnv(dir: string, text: string): string {
  const path = join(dir, 'subnet.env');
  writeFileSync(path, text);
  return path;
}

/**
 * The flannel entry of the classic 10-flannel.conflist, with subnetFile, dataDir and host-local's
 * dataDir (through flannel's `ipam`) under `dir` (the bridge is the default cni0, in the test's node namespace).
 */
export function flannelPlugin(dir: string): Record<string, unknown> {
  return {
    type: 'flannel',
    subnetFile: join(dir, 'subnet.env'),
    dataDir: join(dir, 'flannel'),
    ipam: { dataDir: join(dir, 'networks') },
    delegate: { hairpinMode: true, isDefaultGateway: true },
  };
}

/** The classic conflist: flannel, then portmap for host ports. */
export function flannelConflist(dir: string): Record<string, unknown> {
  return {
    name: 'cbr0',
    cniVersion: '0.3.1',
    plugins: [flannelPlugin(dir), { type: 'portmap', capabilities: { portMappings: true } }],
  };
}
