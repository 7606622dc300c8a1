// `fastcni add|check|del|gc|list|status` on a bridge + host-local conflist, run inside a node
// namespace like a person would; kernel state checked with ip(8), files in the sandbox's temp dirs.
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cnitoolContainerId } from '../../src/cli/invocation.js';
import { cacheFiles, fastcni, reservations, sandbox, writeBridgeList, type Sandbox } from '../helpers/cli.js';
import { addrs, bridgePorts, cidrsOf, nodeAndPod, tempDir } from '../helpers/fixtures.js';
import { ipJson, makeNetns, removeNetns, type Netns } from '../helpers/netns.js';
import { masqElements } from '../helpers/nft.js';
import { OUR_BIN } from '../helpers/run-plugin.js';

const ONE_ERROR_LINE = /^error: [^\n]+ \(CNI code \d+\)\n$/;

/** No link but lo in the pod, no port on any bridge, no masquerade element, no reservation, no cache file. */
function expectNothingLeft(s: Sandbox, node: Netns, pod: Netns): void {
  expect(addrs(pod).filter((l) => l.ifname !== 'lo')).toEqual([]);
  expect(addrs(node).filter((l) => l.master !== undefined)).toEqual([]);
  expect(addrs(node).filter((l) => l.linkinfo?.info_kind === 'veth')).toEqual([]);
  expect(masqElements(node)).toEqual([]);
  expect(reservations(s)).toEqual([]);
  expect(cacheFiles(s)).toEqual([]);
}

describe('fastcni add → check → del', () => {
  it("attaches a pod named by its netns name, caches it under cnitool's ID, and removes it again", async () => {
    const { node, pod } = nodeAndPod();
    const s = sandbox();
    writeBridgeList(s);
    writeFileSync(join(s.confDir, '05-broken.conflist'), '{"cniVersion": "1.0.0", "name": ');

    const add = await fastcni(['add', 'testnet', pod.name, '--json'], { node, env: s.env });
    expect(add.stderr).toBe('');
    expect(add.code).toBe(0);
    expect(add.stdout.endsWith('}')).toBe(true); // exactly cnitool's bytes: no trailing newline
    const result = add.json as {
      cniVersion: string;
      interfaces: Array<{ name: string; sandbox?: string }>;
      ips: Array<{ address: string; gateway: string; interface: number }>;
    };
    expect(add.stdout).toBe(JSON.stringify(result, null, 4));
    expect(result.cniVersion).toBe('1.0.0');

    // the kernel agrees with the result
    const [podCidr] = cidrsOf(pod, 'eth0');
    expect(result.ips).toEqual([{ address: podCidr, gateway: '10.99.0.1', interface: 2 }]);
    expect(result.interfaces[2]).toMatchObject({ name: 'eth0', sandbox: pod.path });
    expect(cidrsOf(node, 'fcnibr0')).toEqual(['10.99.0.1/24']);
    expect(bridgePorts(node, 'fcnibr0')).toEqual([result.interfaces[1]!.name]);
    expect(ipJson<Array<{ dst: string; gateway?: string }>>('-n', pod.name, 'route')).toContainEqual(
      expect.objectContaining({ dst: 'default', gateway: '10.99.0.1' }),
    );
    expect(reservations(s)).toEqual([podCidr!.split('/')[0]]);

    // libcni's cache file, under the ID cnitool would use for this path
    const id = cnitoolContainerId(pod.path);
    expect(cacheFiles(s)).toEqual([`testnet-${id}-eth0`]);
    const cached = JSON.parse(readFileSync(join(s.cacheDir, 'results', `testnet-${id}-eth0`), 'utf8')) as Record<string, unknown>;
    expect(cached).toMatchObject({ kind: 'cniCacheV1', containerId: id, ifName: 'eth0', networkName: 'testnet', netns: pod.path });
    expect(existsSync(`/var/lib/cni/results/testnet-${id}-eth0`)).toBe(false);

    const list = await fastcni(['list'], { node, env: s.env });
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/testnet\s+1\.0\.0\s+bridge\s/);
    expect(list.stdout).toContain('05-broken.conflist');
    expect(list.stdout).toMatch(new RegExp(`testnet\\s+${id}\\s+eth0\\s+${pod.path}\\s+${podCidr!.replace(/\./g, '\\.')}`));

    const check = await fastcni(['check', 'testnet', pod.name], { node, env: s.env });
    expect(check.stderr).toBe('');
    expect(check.code).toBe(0);
    expect(check.stdout).toBe(`check testnet ${id}/eth0 (${pod.path}): ok\n`);

    const del = await fastcni(['del', 'testnet', pod.path], { node, env: s.env });
    expect(del.stderr).toBe('');
    expect(del.code).toBe(0);
    expect(del.stdout).toBe(`deleted testnet ${id}/eth0 (${pod.path})\n`);
    expectNothingLeft(s, node, pod);

    const again = await fastcni(['del', 'testnet', pod.path], { node, env: s.env });
    expect(again.code).toBe(0);
  });

  it('prints a table by default and takes --id, --ifname and CNI_IFNAME', async () => {
    const { node, pod } = nodeAndPod();
    const s = sandbox();
    writeBridgeList(s);
    const add = await fastcni(['add', 'testnet', pod.path, '--id', 'ctr-1', '--ifname', 'net1'], {
      node,
      env: { ...s.env, CNI_IFNAME: 'ignored0' },
    });
    expect(add.stderr).toBe('');
    expect(add.code).toBe(0);
    const [cidr] = cidrsOf(pod, 'net1');
    const lines = add.stdout.split('\n');
    expect(lines[0]).toBe(`added testnet to ${pod.path} (container ctr-1, ifname net1, cniVersion 1.0.0)`);
    expect(lines).toContain('interfaces:');
    expect(add.stdout).toMatch(new RegExp(`^  ${cidr!.replace(/\./g, '\\.')}\\s+10\\.99\\.0\\.1\\s+net1$`, 'm'));
    expect(add.stdout).toMatch(/^ {2}0\.0\.0\.0\/0\s/m);
    expect(cacheFiles(s)).toEqual(['testnet-ctr-1-net1']);

    const del = await fastcni(['del', 'testnet', pod.path, '--id', 'ctr-1'], { node, env: { ...s.env, CNI_IFNAME: 'net1' } });
    expect(del.code).toBe(0);
    expectNothingLeft(s, node, pod);
  });

  it('status reports a ready network; version prints', async () => {
    const s = sandbox();
    writeBridgeList(s, { cniVersion: '1.1.0' });
    const node = makeNetns('node');
    const status = await fastcni(['status', 'testnet'], { node, env: s.env });
    expect(status.stderr).toBe('');
    expect(status.code).toBe(0);
    expect(status.stdout).toBe('status testnet: ready\n');
    const version = await fastcni(['version', '--json']);
    expect(version.json).toMatchObject({ version: expect.any(String), cniVersions: expect.arrayContaining(['1.1.0']) });
  });
});

describe('fastcni with the namespace or a plugin gone', () => {
  it('del after the namespace was removed finds the attachment by the same ID and releases everything', async () => {
    const { node, pod } = nodeAndPod();
    const s = sandbox();
    writeBridgeList(s);
    expect((await fastcni(['add', 'testnet', pod.name], { node, env: s.env })).code).toBe(0);
    expect(reservations(s)).toHaveLength(1);
    removeNetns(pod.name);
    const del = await fastcni(['del', 'testnet', pod.name], { node, env: s.env });
    expect(del.stderr).toBe('');
    expect(del.code).toBe(0);
    expect(reservations(s)).toEqual([]);
    expect(cacheFiles(s)).toEqual([]);
    expect(masqElements(node)).toEqual([]);
    expect(addrs(node).filter((l) => l.linkinfo?.info_kind === 'veth')).toEqual([]);
  });

  it("status of a 1.1.0 network passes a plugin's error and code through, exit 1", async () => {
    const s = sandbox();
    const bin = tempDir('bin');
    writeFileSync(
      join(bin, 'fcni-not-ready'),
      '#!/bin/sh\ncat >/dev/null\nif [ "$CNI_COMMAND" = STATUS ]; then echo \'{"code": 50, "msg": "no uplink yet"}\'; exit 1; fi\nexit 0\n',
      { mode: 0o755 },
    );
    writeFileSync(
      join(s.confDir, '10-nr.conflist'),
      JSON.stringify({ cniVersion: '1.1.0', name: 'nr', plugins: [{ type: 'fcni-not-ready' }] }),
    );
    const res = await fastcni(['status', 'nr'], { env: { ...s.env, CNI_PATH: bin } });
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(ONE_ERROR_LINE);
    expect(res.stderr).toContain('no uplink yet');
    expect(res.stderr).toContain('(CNI code 50)');
  });
});

describe('fastcni gc', () => {
  it('keeps the --valid attachments, deletes the others; with no --valid every one goes', async () => {
    const node = makeNetns('node');
    const pods = [makeNetns('pod'), makeNetns('pod')];
    const s = sandbox();
    writeBridgeList(s);
    for (const [i, pod] of pods.entries()) {
      const add = await fastcni(['add', 'testnet', pod.name, '--id', `ctr-${i}`], { node, env: s.env });
      expect(add.code, add.stderr).toBe(0);
    }
    expect(reservations(s)).toHaveLength(2);

    const gc = await fastcni(['gc', 'testnet', '--valid', 'ctr-0/eth0'], { node, env: s.env });
    expect(gc.stderr).toBe('');
    expect(gc.code).toBe(0);
    expect(gc.stdout).toBe('gc testnet: ok\n');
    expect(cacheFiles(s)).toEqual(['testnet-ctr-0-eth0']);
    expect(cidrsOf(pods[0]!, 'eth0')).toHaveLength(1);
    expect(addrs(pods[1]!).filter((l) => l.ifname !== 'lo')).toEqual([]);
    expect(reservations(s)).toEqual([cidrsOf(pods[0]!, 'eth0')[0]!.split('/')[0]]);

    const all = await fastcni(['gc'], { node, env: s.env });
    expect(all.code).toBe(0);
    expect(all.stdout).toBe('gc testnet: ok\n');
    for (const pod of pods) expectNothingLeft(s, node, pod);
  });
});

describe('fastcni bad input: one clear line, exit 1, nothing left', () => {
  const cases: Array<{
    what: string;
    args: (pod: Netns) => string[];
    env?: (s: Sandbox) => Record<string, string>;
    message: RegExp;
    code: number;
  }> = [
    {
      what: 'unknown network',
      args: (p) => ['add', 'nosuchnet', p.name],
      message: /no net configuration with name "nosuchnet" in /,
      code: 7,
    },
    {
      what: 'bad --cap JSON',
      args: (p) => ['add', 'testnet', p.name, '--cap', '{"portMappings": ['],
      message: /invalid --cap: not JSON/,
      code: 4,
    },
    {
      what: 'bad CAP_ARGS JSON',
      args: (p) => ['add', 'testnet', p.name],
      env: () => ({ CAP_ARGS: '[1,2]' }),
      message: /invalid CAP_ARGS: expected a JSON object/,
      code: 4,
    },
    {
      what: 'bad CNI_ARGS',
      args: (p) => ['add', 'testnet', p.name],
      env: () => ({ CNI_ARGS: 'K8S_POD_NAME' }),
      message: /invalid CNI_ARGS pair "K8S_POD_NAME"/,
      code: 4,
    },
    {
      what: 'invalid container ID',
      args: (p) => ['add', 'testnet', p.name, '--id', 'ctr 1!'],
      message: /invalid characters in containerID: ctr 1!/,
      code: 4,
    },
    {
      what: '16-byte ifname',
      args: (p) => ['add', 'testnet', p.name, '--ifname', 'eth0123456789abc'],
      message: /interface name is too long/,
      code: 4,
    },
    {
      what: 'missing plugin binary (host-local not in CNI_PATH)',
      args: (p) => ['add', 'testnet', p.name],
      env: () => {
        const dir = tempDir('bin');
        writeFileSync(join(dir, 'bridge'), readFileSync(join(OUR_BIN, 'bridge')));
        chmodSync(join(dir, 'bridge'), 0o755);
        return { CNI_PATH: dir };
      },
      message: /failed to find plugin "host-local" in path \[/,
      code: 999,
    },
    {
      what: 'namespace that does not exist',
      args: () => ['add', 'testnet', 'fcni-t-no-such-ns'],
      message: /network namespace \/var\/run\/netns\/fcni-t-no-such-ns does not exist/,
      code: 4,
    },
  ];

  for (const c of cases) {
    it(c.what, async () => {
      const { node, pod } = nodeAndPod();
      const s = sandbox();
      writeBridgeList(s);
      const res = await fastcni(c.args(pod), { node, env: { ...s.env, ...c.env?.(s) } });
      expect(res.code).toBe(1);
      expect(res.stdout).toBe('');
      expect(res.stderr).toMatch(ONE_ERROR_LINE);
      expect(res.stderr).toMatch(c.message);
      expect(res.stderr).toContain(`(CNI code ${c.code})`);
      expectNothingLeft(s, node, pod);
    });
  }

  it('a malformed conflist beside a good one: the good one still works, the bad one is reported', async () => {
    const { node, pod } = nodeAndPod();
    const s = sandbox();
    writeFileSync(join(s.confDir, '00-bad.conflist'), '{ not json');
    writeBridgeList(s, { file: '50-good.conflist' });
    const add = await fastcni(['add', 'testnet', pod.name], { node, env: s.env });
    expect(add.stderr).toBe('');
    expect(add.code).toBe(0);
    expect(cidrsOf(pod, 'eth0')).toHaveLength(1);
    const other = await fastcni(['add', 'other', pod.name], { node, env: s.env });
    expect(other.code).toBe(1);
    expect(other.stderr).toMatch(ONE_ERROR_LINE);
    expect(other.stderr).toContain('00-bad.conflist');
    expect((await fastcni(['del', 'testnet', pod.name], { node, env: s.env })).code).toBe(0);
    expectNothingLeft(s, node, pod);
  });

  it('a chained plugin missing from CNI_PATH fails before bridge creates anything', async () => {
    const { node, pod } = nodeAndPod();
    const s = sandbox();
    writeBridgeList(s, { extraPlugins: [{ type: 'fcni-no-such-plugin' }] });
    const res = await fastcni(['add', 'testnet', pod.name], { node, env: s.env });
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(ONE_ERROR_LINE);
    expect(res.stderr).toContain('failed to find plugin "fcni-no-such-plugin"');
    expectNothingLeft(s, node, pod);
  });

  it('a chained plugin that fails its ADD: the attachment is deleted again, the plugin error reported', async () => {
    const { node, pod } = nodeAndPod();
    const s = sandbox();
    const bin = tempDir('bin');
    // fails ADD with a CNI error object, succeeds on DEL
    writeFileSync(
      join(bin, 'fcni-fail-add'),
      '#!/bin/sh\ncat >/dev/null\nif [ "$CNI_COMMAND" = ADD ]; then echo \'{"code": 11, "msg": "refusing on purpose"}\'; exit 1; fi\nexit 0\n',
      { mode: 0o755 },
    );
    writeBridgeList(s, { extraPlugins: [{ type: 'fcni-fail-add' }] });
    const res = await fastcni(['add', 'testnet', pod.name], { node, env: { ...s.env, CNI_PATH: `${OUR_BIN}:${bin}` } });
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(ONE_ERROR_LINE);
    expect(res.stderr).toContain('plugin type="fcni-fail-add" failed (add): refusing on purpose');
    expect(res.stderr).toContain('(CNI code 11)');
    expectNothingLeft(s, node, pod);
  });

  it('no stack trace for a usage error either', async () => {
    const res = await fastcni(['add', 'onlyone']);
    expect(res.code).not.toBe(0);
    expect(res.stderr).toMatch(/^error: missing required argument 'netns'/);
    expect(res.stderr).not.toMatch(/\n\s+at /);
  });
});
