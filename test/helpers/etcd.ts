// The etcd fixture of the tests: members started by etcd-server.ts with their data under a temporary
// directory, stopped (and the data removed) when the test ends.
import { onTestFinished } from 'vitest';
import { type EtcdCluster, launchEtcd } from './etcd-server.js';
import { tempDir } from './fixtures.js';

export { ETCD_BIN, type EtcdCluster, type EtcdMember, etcdLeader, freePort, haveEtcd } from './etcd-server.js';

/**
 * Start `size` members (1 or 3) forming one cluster and wait until each reports healthy.
 * Everything is stopped and removed when the test finishes.
 */
export async function startEtcd(size = 1): Promise<EtcdCluster> {
  const cluster = await launchEtcd(tempDir('etcd'), size);
  onTestFinished(() => cluster.close());
  return cluster;
}
