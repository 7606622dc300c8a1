// libcni's results cache file torn (truncated to zero bytes, as libcni's in-place write can leave it)
// under a runtime running host-local in-process: CHECK fails with the decoding code (it needs the
// result), DEL and GC go on with a warning, and no address is kept or given twice.
import { existsSync, readdirSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CniRuntime } from '../../src/runtime/cni-runtime.js';
import { parseNetworkList } from '../../src/runtime/conf-parse.js';
import { loadPlugin } from '../../src/plugins.js';
import { tempDir } from '../helpers/fixtures.js';
import { OUR_BIN } from '../helpers/run-plugin.js';
import { reservations, TORN_NET, tornConf } from '../helpers/torn.js';

function tornRuntime() {
  const dataDir = tempDir('torn-cache');
  const cacheDir = join(dataDir, 'cache');
  const out = { stderr: '' };
  const runtime = new CniRuntime({ pluginPath: [OUR_BIN], loadPlugin, cacheDir, stderr: (t) => void (out.stderr += t) });
  const list = parseNetworkList(Buffer.from(JSON.stringify({ cniVersion: '1.1.0', name: TORN_NET, plugins: [tornConf(dataDir)] })));
  const rt = (containerId: string) => ({ containerId, netns: '/run/netns/fcni-t-absent', ifname: 'eth0' });
  const cacheFile = (id: string) => join(cacheDir, 'results', `${TORN_NET}-${id}-eth0`);
  return { dataDir, cacheDir, out, runtime, list, rt, cacheFile };
}

describe('a torn results cache file', () => {
  it('CHECK fails with code 6; DEL warns, removes it and releases the address; the next ADD works', async () => {
    const { dataDir, out, runtime, list, rt, cacheFile } = tornRuntime();
    await runtime.addNetworkList(list, rt('ctr-a'));
    truncateSync(cacheFile('ctr-a'), 0);

    await expect(runtime.checkNetworkList(list, rt('ctr-a'))).rejects.toMatchObject({
      code: 6,
      message: expect.stringContaining(`failed to get network "${TORN_NET}" cached result`),
    });
    await runtime.delNetworkList(list, rt('ctr-a'));
    expect(out.stderr).toContain(`${cacheFile('ctr-a')}: failed to read cached network "${TORN_NET}" result`);
    expect(out.stderr).toContain('removed, DEL goes on without prevResult');
    expect(existsSync(cacheFile('ctr-a'))).toBe(false);
    expect(reservations(dataDir)).toEqual({});

    const again = await runtime.addNetworkList(list, rt('ctr-a'));
    expect(again.ips).toHaveLength(1);
    expect(Object.values(reservations(dataDir))).toEqual(['ctr-a']);
    await runtime.checkNetworkList(list, rt('ctr-a'));
  });

  it('GC removes a stale attachment’s torn file with a warning and reclaims its address; valid ones stay', async () => {
    const { dataDir, cacheDir, out, runtime, list, rt, cacheFile } = tornRuntime();
    for (const id of ['ctr-a', 'ctr-b', 'ctr-c']) await runtime.addNetworkList(list, rt(id));
    truncateSync(cacheFile('ctr-b'), 0);
    truncateSync(cacheFile('ctr-c'), 0);

    await runtime.gcNetworkList(list, [
      { containerID: 'ctr-a', ifname: 'eth0' },
      { containerID: 'ctr-b', ifname: 'eth0' },
    ]);
    expect(out.stderr).toContain(`${cacheFile('ctr-c')} is not a cache file: removed`);
    expect(out.stderr).not.toContain(cacheFile('ctr-b'));
    expect(readdirSync(join(cacheDir, 'results')).sort()).toEqual([`${TORN_NET}-ctr-a-eth0`, `${TORN_NET}-ctr-b-eth0`]);
    expect(Object.values(reservations(dataDir)).sort()).toEqual(['ctr-a', 'ctr-b']);

    // the valid one with the torn file: its DEL still releases it
    await runtime.delNetworkList(list, rt('ctr-b'));
    expect(Object.values(reservations(dataDir))).toEqual(['ctr-a']);
  });
});
