// The results cache byte for byte against real libcni (cnitool with a private /var/lib through a
// mount namespace), and each side reading the other's cache on DEL.
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CniRuntime } from '../../src/runtime/cni-runtime.js';
import { tempDir } from '../helpers/fixtures.js';
import { calls, fakePlugin, onAdd, result100 } from '../helpers/runtime-fakes.js';
import { CNITOOL } from '../helpers/run-plugin.js';

const NETNS = '/var/run/netns/fcni-t-nothere';
// cnitool's container ID: "cnitool-" + 20 hex chars of SHA-512 of the netns path.
const CNITOOL_ID = `cnitool-${(await import('node:crypto')).createHash('sha512').update(NETNS).digest('hex').slice(0, 20)}`;

function cnitool(verb: string, net: string, env: Record<string, string>, varLib: string): void {
  execFileSync('unshare', ['-m', 'sh', '-c', 'mount --bind "$0" /var/lib && exec "$@"', varLib, CNITOOL, verb, net, NETNS], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
}

describe.skipIf(!existsSync(CNITOOL))('results cache vs libcni', () => {
  it("writes the same bytes as libcni and each reads the other's cache on DEL", async () => {
    const bin = tempDir('bin');
    const confDir = tempDir('conf');
    const varLib = tempDir('varlib');
    const ours = tempDir('cache');
    mkdirSync(join(varLib, 'cni'));
    fakePlugin(bin, 'fake', onAdd({ ...result100('10.1.2.3/24'), extra: 1 }));
    fakePlugin(
      bin,
      'fake2',
      onAdd({ cniVersion: '1.0.0', ips: [{ address: '10.1.2.3/24', gateway: '10.1.2.1' }], dns: { nameservers: ['10.1.2.1'] } }),
    );
    writeFileSync(
      join(confDir, '10-g.conflist'),
      '{"cniVersion":"1.0.0","name":"gnet","plugins":[{"type":"fake","capabilities":{"portMappings":true},"zeta":1,"alpha":"<&>"},{"type":"fake2"}]}\n',
    );
    const capArgs = { portMappings: [{ hostPort: 80, containerPort: 8080, protocol: 'tcp' }], other: 1 };
    const env = { CNI_PATH: bin, NETCONFPATH: confDir, CAP_ARGS: JSON.stringify(capArgs), CNI_ARGS: 'IgnoreUnknown=1;FOO=bar' };
    cnitool('add', 'gnet', env, varLib);
    const theirFile = join(varLib, 'cni', 'results', `gnet-${CNITOOL_ID}-eth0`);
    const theirs = readFileSync(theirFile, 'utf8');

    const runtime = new CniRuntime({ pluginPath: [bin], confDir, cacheDir: ours, stderr: () => undefined });
    const list = await runtime.loadNetworkList('gnet');
    const rt = {
      containerId: CNITOOL_ID,
      netns: NETNS,
      ifname: 'eth0',
      args: [
        ['IgnoreUnknown', '1'],
        ['FOO', 'bar'],
      ] as Array<[string, string]>,
      capabilityArgs: capArgs,
    };
    await runtime.addNetworkList(list, rt);
    const ourFile = join(ours, 'results', `gnet-${CNITOOL_ID}-eth0`);
    expect(readFileSync(ourFile, 'utf8')).toBe(theirs);
    // both plugins got the same request bytes from both runtimes
    const adds = calls(bin).filter((c) => c.cmd === 'ADD');
    expect(adds[2]!.stdin).toEqual(adds[0]!.stdin);
    expect(adds[3]!.stdin).toEqual(adds[1]!.stdin);
    expect(adds.map((c) => c.args)).toEqual(Array(4).fill('IgnoreUnknown=1;FOO=bar'));

    // libcni's cache, read by our DEL: every plugin gets the cached result, the file goes
    copyFileSync(theirFile, ourFile);
    await runtime.delNetworkList(list, rt);
    const ourDels = calls(bin).filter((c) => c.cmd === 'DEL');
    expect(ourDels.map((c) => c.plugin)).toEqual(['fake2', 'fake']);
    for (const c of ourDels) expect((c.stdin.prevResult as { dns: unknown }).dns).toEqual({ nameservers: ['10.1.2.1'] });
    expect(existsSync(ourFile)).toBe(false);

    // our cache, read by cnitool's DEL
    await runtime.addNetworkList(list, rt);
    copyFileSync(ourFile, theirFile);
    cnitool('del', 'gnet', env, varLib);
    const theirDels = calls(bin)
      .filter((c) => c.cmd === 'DEL')
      .slice(2);
    expect(theirDels.map((c) => c.stdin)).toEqual(ourDels.map((c) => c.stdin));
    expect(readdirSync(join(varLib, 'cni', 'results'))).toEqual([]);
  });

  it('an up-converted .conf and a 0.2.0 result are cached as libcni caches them', async () => {
    const bin = tempDir('bin');
    const confDir = tempDir('conf');
    const varLib = tempDir('varlib');
    const ours = tempDir('cache');
    mkdirSync(join(varLib, 'cni'));
    fakePlugin(bin, 'old', onAdd({ cniVersion: '0.2.0', ip4: { ip: '10.1.2.3/24', gateway: '10.1.2.1', routes: [{ dst: '0.0.0.0/0' }] } }));
    writeFileSync(join(confDir, '10-old.conf'), '{"cniVersion":"0.2.0","name":"v02","type":"old","b":[1,2]}');
    cnitool('add', 'v02', { CNI_PATH: bin, NETCONFPATH: confDir }, varLib);
    const theirs = readFileSync(join(varLib, 'cni', 'results', `v02-${CNITOOL_ID}-eth0`), 'utf8');
    const runtime = new CniRuntime({ pluginPath: [bin], confDir, cacheDir: ours, stderr: () => undefined });
    await runtime.addNetworkList(await runtime.loadNetworkList('v02'), { containerId: CNITOOL_ID, netns: NETNS, ifname: 'eth0' });
    expect(readFileSync(join(ours, 'results', `v02-${CNITOOL_ID}-eth0`), 'utf8')).toBe(theirs);
  });
});
