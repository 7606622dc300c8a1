// Interop with the reference plugins (Debian's, cniVersion ≤ 1.0.0) and with real libcni (cnitool).
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bridgeConf, bridgePorts, cidrsOf, cni, tempDir } from '../helpers/fixtures.js';
import { makeNetns } from '../helpers/netns.js';
import { masqElements } from '../helpers/nft.js';
import { CNITOOL, execWith, OUR_BIN, REF_BIN } from '../helpers/run-plugin.js';

function reservations(dataDir: string, net = 'testnet'): string[] {
  return readdirSync(join(dataDir, net)).filter((f) => /^\d+\.\d+\.\d+\.\d+$/.test(f));
}

describe('interop with the reference plugins, one shared dataDir', () => {
  it('our bridge with their host-local, their bridge with our host-local', async () => {
    const node = makeNetns('node');
    const pods = [makeNetns('pod'), makeNetns('pod'), makeNetns('pod')];
    const dataDir = tempDir('ipam');
    const conf = bridgeConf({ dataDir, extra: { ipMasq: false } });
    // ours → reference host-local (found first in CNI_PATH)
    const a = await cni('ADD', { node, pod: pods[0], id: 'ours-theirs', conf, path: `${REF_BIN}:${OUR_BIN}` });
    expect(a.code, a.stdout + a.stderr).toBe(0);
    // reference bridge → our host-local
    const b = await cni('ADD', { node, pod: pods[1], id: 'theirs-ours', conf, binDir: REF_BIN, path: `${OUR_BIN}:${REF_BIN}` });
    expect(b.code, b.stdout + b.stderr).toBe(0);
    // ours → ours
    const c = await cni('ADD', { node, pod: pods[2], id: 'ours-ours', conf });
    expect(c.code, c.stdout + c.stderr).toBe(0);
    const addrs = pods.map((p) => cidrsOf(p, 'eth0')[0]);
    expect(new Set(addrs).size).toBe(3);
    expect(reservations(dataDir).sort()).toEqual(addrs.map((x) => x!.split('/')[0]).sort());
    expect(bridgePorts(node, 'fcnibr0')).toHaveLength(3);
    // the reference host-local file format: "<id>\r\n<ifname>"
    const ours = reservations(dataDir).find((f) => readFileSync(join(dataDir, 'testnet', f), 'utf8').startsWith('ours-ours'));
    expect(readFileSync(join(dataDir, 'testnet', ours!), 'utf8')).toBe('ours-ours\r\neth0');

    // each DEL through the other implementation's IPAM
    expect((await cni('DEL', { node, pod: pods[0], id: 'ours-theirs', conf, path: `${OUR_BIN}:${REF_BIN}` })).code).toBe(0);
    expect((await cni('DEL', { node, pod: pods[1], id: 'theirs-ours', conf, binDir: REF_BIN, path: `${REF_BIN}:${OUR_BIN}` })).code).toBe(
      0,
    );
    expect((await cni('DEL', { node, pod: pods[2], id: 'ours-ours', conf, path: `${REF_BIN}:${OUR_BIN}` })).code).toBe(0);
    expect(reservations(dataDir)).toEqual([]);
    expect(bridgePorts(node, 'fcnibr0')).toEqual([]);
  });
});

describe('real libcni (cnitool)', () => {
  it('drives a conflist through ADD, CHECK and DEL with a libcni cache', async () => {
    const node = makeNetns('node');
    const pod = makeNetns('pod');
    const dataDir = tempDir('ipam');
    const confDir = tempDir('netconf');
    const varLib = tempDir('varlib');
    mkdirSync(join(varLib, 'cni'));
    const { type: _t, cniVersion: _v, name: _n, ...bridgePlugin } = bridgeConf({ dataDir });
    const conflist = { cniVersion: '1.0.0', name: 'testnet', plugins: [{ type: 'bridge', ...bridgePlugin }] };
    execFileSync('sh', ['-c', `cat > ${confDir}/10-test.conflist`], { input: JSON.stringify(conflist) });
    // libcni keeps its cache under /var/lib/cni: give it a private one through a bind mount that
    // exists only inside the `ip netns exec` mount namespace.
    const cnitool = (verb: string) =>
      execWith(
        'ip',
        ['netns', 'exec', node.name, 'sh', '-c', 'mount --bind "$0" /var/lib && exec "$@"', varLib, CNITOOL, verb, 'testnet', pod.path],
        { PATH: process.env.PATH ?? '/usr/bin:/bin', NETCONFPATH: confDir, CNI_PATH: OUR_BIN },
        '',
      );
    const add = await cnitool('add');
    expect(add.code, add.stderr).toBe(0);
    const result = add.json as { interfaces: Array<{ name: string }>; ips: Array<{ address: string }> };
    expect(result.ips[0]!.address).toBe(cidrsOf(pod, 'eth0')[0]);
    const cacheFiles = readdirSync(join(varLib, 'cni', 'results'));
    expect(cacheFiles).toHaveLength(1);
    const cache = JSON.parse(readFileSync(join(varLib, 'cni', 'results', cacheFiles[0]!), 'utf8')) as { kind: string; result: unknown };
    expect(cache.kind).toBe('cniCacheV1');

    const check = await cnitool('check');
    expect(check.code, check.stderr).toBe(0);
    const del = await cnitool('del');
    expect(del.code, del.stderr).toBe(0);
    expect(cidrsOf(pod, 'eth0')).toEqual([]);
    expect(readdirSync(join(dataDir, 'testnet')).filter((f) => /^\d/.test(f))).toEqual([]);
    expect(masqElements(node)).toEqual([]);
  });
});

describe('the hot path spawns no process', () => {
  it('ADD and DEL exec nothing but the plugin itself', async () => {
    const node = makeNetns('node');
    const pod = makeNetns('pod');
    const dataDir = tempDir('ipam');
    const trace = tempDir('strace');
    const conf = JSON.stringify(bridgeConf({ dataDir }));
    for (const command of ['ADD', 'DEL']) {
      const out = join(trace, `${command}.log`);
      const res = await execWith(
        'ip',
        ['netns', 'exec', node.name, 'strace', '-f', '-qq', '-e', 'trace=execve', '-o', out, join(OUR_BIN, 'bridge')],
        {
          PATH: process.env.PATH ?? '/usr/bin:/bin',
          CNI_COMMAND: command,
          CNI_CONTAINERID: 'nospawn',
          CNI_NETNS: pod.path,
          CNI_IFNAME: 'eth0',
          CNI_PATH: OUR_BIN,
        },
        conf,
      );
      expect(res.code, res.stdout).toBe(0);
      const execs = readFileSync(out, 'utf8')
        .split('\n')
        .filter((l) => l.includes('execve(') && / = 0$/.test(l))
        .map((l) => /execve\("([^"]+)"/.exec(l)?.[1] ?? l);
      // the launcher script, then node on the plugin entry; no ip, iptables, nft, tc or delegate process
      expect(execs).toHaveLength(2);
      expect(execs[0]).toBe(join(OUR_BIN, 'bridge'));
      expect(execs[1]).toMatch(/\/node$/);
    }
  });
});
