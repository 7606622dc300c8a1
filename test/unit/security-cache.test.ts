// The results cache's GC removes torn files of its own network only: network "sec" and network
// "sec-x" share a cache directory, and a cache file name ("<net>-<containerID>-<ifname>") does not say
// where the network's name ends. GC of "sec" must leave "sec-x"'s files, torn or not, alone.
import { readdirSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadPlugin } from '../../src/plugins.js';
import { CniRuntime } from '../../src/runtime/cni-runtime.js';
import { parseNetworkList } from '../../src/runtime/conf-parse.js';
import { tempDir } from '../helpers/fixtures.js';
import { hlConf } from '../helpers/host-local.js';
import { OUR_BIN } from '../helpers/run-plugin.js';

describe('results cache GC and network names that share a prefix', () => {
  it('GC of a network removes its own torn files, never those of a network whose name extends it', async () => {
    const dir = tempDir('sec-cache');
    const cacheDir = join(dir, 'cache');
    let stderr = '';
    const runtime = new CniRuntime({ pluginPath: [OUR_BIN], loadPlugin, cacheDir, stderr: (t) => void (stderr += t) });
    const list = (name: string, subnet: string) =>
      parseNetworkList(
        Buffer.from(
          JSON.stringify({
            cniVersion: '1.1.0',
            name,
            plugins: [hlConf({ name, cniVersion: '1.1.0', dataDir: dir, ranges: [[{ subnet }]] })],
          }),
        ),
      );
    const [short, long] = [list('sec', '10.94.0.0/24'), list('sec-x', '10.94.1.0/24')];
    const rt = (containerId: string) => ({ containerId, netns: '/run/netns/fcni-t-absent', ifname: 'eth0' });
    await runtime.addNetworkList(long, rt('c1'));
    await runtime.addNetworkList(long, rt('c2'));
    await runtime.addNetworkList(short, rt('c3'));
    await runtime.addNetworkList(short, rt('c4'));
    const results = join(cacheDir, 'results');
    truncateSync(join(results, 'sec-x-c2-eth0'), 0);
    truncateSync(join(results, 'sec-c4-eth0'), 0);

    await runtime.gcNetworkList(short, [{ containerID: 'c3', ifname: 'eth0' }]);
    expect(stderr).toContain(`${join(results, 'sec-c4-eth0')} is not a cache file: removed`);
    expect(stderr).not.toContain('sec-x-c2-eth0');
    expect(readdirSync(results).sort()).toEqual(['sec-c3-eth0', 'sec-x-c1-eth0', 'sec-x-c2-eth0']);

    // its own GC does take it
    await runtime.gcNetworkList(long, [{ containerID: 'c1', ifname: 'eth0' }]);
    expect(readdirSync(results).sort()).toEqual(['sec-c3-eth0', 'sec-x-c1-eth0']);
  });
});
