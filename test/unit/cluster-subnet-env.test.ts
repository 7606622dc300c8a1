// subnet.env as the controller writes it is what the flannel plugin reads (the format's one reader).
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseClusterConfig } from '../../src/cluster/config.js';
import { subnetsAt } from '../../src/cluster/subnets.js';
import { removeSubnetEnv, writeSubnetEnv } from '../../src/cluster/subnet-env.js';
import { cidrText } from '../../src/net/ip.js';
import { loadSubnetEnv, parseSubnetEnv } from '../../plugins/flannel/subnet-env.js';
import { tempDir } from '../helpers/fixtures.js';

const base = { clusterCIDR: '10.244.0.0/16', etcd: { endpoints: ['http://127.0.0.1:2379'] }, nodeName: 'n1' };

describe('subnet.env written for the flannel plugin', () => {
  it('IPv4: the flannel plugin reads back the network, the subnet, the MTU and IPMASQ=false', async () => {
    const c = parseClusterConfig(base);
    const s = subnetsAt(c, 3)!;
    const path = join(tempDir('subnet-env'), 'run', 'flannel', 'subnet.env');
    await writeSubnetEnv(path, { network: c.clusterCIDR, subnet: s.subnet, mtu: 1450 });
    expect(readFileSync(path, 'utf8')).toBe(
      'FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.3.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=false\n',
    );
    expect(statSync(path).mode & 0o777).toBe(0o644);
    const env = await loadSubnetEnv(path, path);
    expect(env.networks.map(cidrText)).toEqual(['10.244.0.0/16']);
    expect(cidrText(env.subnet!)).toBe('10.244.3.0/24');
    expect(env.ip6Networks).toEqual([]);
    expect(env.ip6Subnet).toBeUndefined();
    expect(env.mtu).toBe(1450);
    expect(env.ipMasq).toBe(false);
    await removeSubnetEnv(path);
    await expect(loadSubnetEnv(path, path)).rejects.toMatchObject({ code: 11 });
  });

  it('dual-stack: both families, the IPv6 subnet of the same index', async () => {
    const c = parseClusterConfig({ ...base, backend: 'vxlan', clusterCIDR6: 'fd00:10:244::/48' });
    const s = subnetsAt(c, 255)!;
    const path = join(tempDir('subnet-env'), 'subnet.env');
    await writeSubnetEnv(path, { network: c.clusterCIDR, subnet: s.subnet, network6: c.clusterCIDR6!, subnet6: s.subnet6!, mtu: 1500 });
    const env = parseSubnetEnv(readFileSync(path, 'utf8'), path);
    expect(cidrText(env.subnet!)).toBe('10.244.255.0/24');
    expect(env.ip6Networks.map(cidrText)).toEqual(['fd00:10:244::/48']);
    expect(cidrText(env.ip6Subnet!)).toBe('fd00:10:244:ff::/64');
    expect(readFileSync(path, 'utf8')).toContain('FLANNEL_IPV6_SUBNET=fd00:10:244:ff::1/64\n');
  });
});
