// The dhcp daemon's lease files torn (truncated to zero bytes): a restarted daemon reports and
// removes the torn one and adopts every other lease.
import { existsSync, readdirSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LeaseStore, type StoredLease } from '../../src/dhcp/lease-store.js';
import { tempDir } from '../helpers/fixtures.js';

function lease(clientId: string, address: string): StoredLease {
  return {
    clientId,
    containerId: clientId,
    network: 'dhcpnet',
    ifname: 'eth0',
    netnsPath: '/run/netns/fcni-t-absent',
    request: [],
    provide: [],
    // only what loadAll looks at
    lease: { address } as StoredLease['lease'],
    boundAt: 1,
  };
}

describe('a torn dhcp lease file', () => {
  it('is reported and removed at load; the other leases are adopted', () => {
    const dir = tempDir('torn-leases');
    const store = new LeaseStore(dir);
    store.save(lease('ctr-a/dhcpnet/eth0', '10.9.0.10'));
    store.save(lease('ctr-b/dhcpnet/eth0', '10.9.0.11'));
    const [first] = readdirSync(dir).sort();
    const torn = join(dir, first!);
    truncateSync(torn, 0);

    const bad: Array<[string, string]> = [];
    const loaded = new LeaseStore(dir).loadAll((file, why) => bad.push([file, why]));
    expect(bad).toEqual([[torn, expect.stringMatching(/JSON/)]]);
    expect(existsSync(torn)).toBe(false);
    expect(loaded).toHaveLength(1);
    expect(readdirSync(dir)).toHaveLength(1);
  });
});
