import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { z } from 'zod';
import { definePlugin } from '../../src/skel/define-plugin.js';
import { netConfSchema } from '../../src/spec/net-conf.js';
import { CniError } from '../../src/spec/errors.js';
import { withRollback } from '../../src/skel/rollback.js';
import type { PluginContext, Result } from '../../src/skel/types.js';

const dir = mkdtempSync(join(tmpdir(), 'fcni-skel-'));
const hostNs = join(dir, 'host-ns');
writeFileSync(hostNs, '');
const podNs = join(dir, 'no-such-netns');

const seen: Array<{ cmd: string; conf: unknown; ctx: PluginContext }> = [];
const result: Result = {
  interfaces: [{ name: 'eth0', mac: '0a:00:00:00:00:01', sandbox: podNs }],
  ips: [{ interface: 0, address: '10.0.0.2/24', gateway: '10.0.0.1' }],
  routes: [{ dst: '0.0.0.0/0' }],
};
const configSchema = netConfSchema.extend({ mtu: z.number().int().min(68).optional(), fail: z.string().optional() });
const dummy = definePlugin({
  name: 'dummy',
  about: 'CNI dummy plugin v1',
  config: configSchema,
  async add(conf, ctx) {
    seen.push({ cmd: 'ADD', conf, ctx });
    if (conf.fail === 'typed') throw new CniError(11, 'busy', 'try later');
    if (conf.fail === 'plain') throw new Error('boom');
    if (conf.fail === 'l2') return { interfaces: [{ name: 'eth0' }] };
    ctx.log('added');
    return result;
  },
  async del(conf, ctx) {
    seen.push({ cmd: 'DEL', conf, ctx });
  },
  async gc(conf, ctx) {
    seen.push({ cmd: 'GC', conf, ctx });
  },
});

const baseEnv = { CNI_CONTAINERID: 'c1', CNI_NETNS: podNs, CNI_IFNAME: 'eth0', CNI_PATH: '/opt/cni/bin' };
function run(env: Record<string, string | undefined>, stdin: unknown) {
  return dummy.invoke({ env, stdin: typeof stdin === 'string' ? stdin : JSON.stringify(stdin), hostNetns: hostNs });
}
const conf = (extra: object = {}) => ({ cniVersion: '1.0.0', name: 'net1', type: 'dummy', ...extra });
const err = (code: number, msg: string, details?: string) => ({
  exitCode: 1,
  stdout: JSON.stringify(details === undefined ? { code, msg } : { code, msg, details }, null, 4),
});

describe('environment', () => {
  test('CNI_COMMAND unset: about text and versions on stderr, exit 0', async () => {
    expect(await run({}, '')).toEqual({
      exitCode: 0,
      stdout: '',
      stderr: 'CNI dummy plugin v1\nCNI protocol versions supported: 0.1.0, 0.2.0, 0.3.0, 0.3.1, 0.4.0, 1.0.0, 1.1.0\n',
    });
  });
  test('CNI_COMMAND unset but attachment variables given: 4 naming CNI_COMMAND', async () => {
    expect(await run({ ...baseEnv }, conf())).toMatchObject(err(4, 'required env variables [CNI_COMMAND] missing'));
  });
  test('missing variables are reported together', async () => {
    expect(await run({ CNI_COMMAND: 'ADD' }, conf())).toMatchObject(
      err(4, 'required env variables [CNI_CONTAINERID,CNI_NETNS,CNI_IFNAME,CNI_PATH] missing'),
    );
    expect(await run({ CNI_COMMAND: 'DEL', CNI_CONTAINERID: 'c' }, conf())).toMatchObject(
      err(4, 'required env variables [CNI_IFNAME,CNI_PATH] missing'),
    );
    expect(await run({ CNI_COMMAND: 'GC' }, conf({ cniVersion: '1.1.0' }))).toMatchObject(
      err(4, 'required env variables [CNI_PATH] missing'),
    );
  });
  test('bad container ID → 4 with the ID, bad ifname → 4', async () => {
    expect(await run({ ...baseEnv, CNI_COMMAND: 'ADD', CNI_CONTAINERID: '/x' }, conf())).toMatchObject(
      err(4, 'invalid characters in containerID', '/x'),
    );
    expect(await run({ ...baseEnv, CNI_COMMAND: 'ADD', CNI_IFNAME: 'a:b' }, conf())).toMatchObject(
      err(4, 'interface name contains / or : or whitespace characters'),
    );
  });
  test('unknown command → 4 (after the config checks, as the reference)', async () => {
    expect(await run({ ...baseEnv, CNI_COMMAND: 'FOO' }, conf())).toMatchObject(err(4, 'unknown CNI_COMMAND: FOO'));
    expect(await run({ ...baseEnv, CNI_COMMAND: 'FOO' }, '')).toMatchObject(
      err(6, 'error unmarshall network config: unexpected end of JSON input'),
    );
  });
});

describe('VERSION', () => {
  test('answers 1.1.0 and the list, ignoring stdin', async () => {
    expect(await run({ CNI_COMMAND: 'VERSION' }, 'not json')).toEqual({
      exitCode: 0,
      stdout: '{"cniVersion":"1.1.0","supportedVersions":["0.1.0","0.2.0","0.3.0","0.3.1","0.4.0","1.0.0","1.1.0"]}\n',
      stderr: '',
    });
  });
});

describe('config checks', () => {
  const env = { ...baseEnv, CNI_COMMAND: 'ADD' };
  test('not JSON → 6', async () => {
    const out = await run(env, '{');
    expect(out.exitCode).toBe(1);
    expect(JSON.parse(out.stdout).code).toBe(6);
    expect(JSON.parse(out.stdout).msg).toMatch(/^error unmarshall network config: /);
  });
  test('missing or bad name → 7', async () => {
    expect(await run(env, { cniVersion: '1.0.0' })).toMatchObject(err(7, 'missing network name'));
    expect(await run(env, conf({ name: 'a b' }))).toMatchObject(err(7, 'invalid characters found in network name', 'a b'));
  });
  test('unsupported version → 1 with details', async () => {
    expect(await run(env, conf({ cniVersion: '0.5.0' }))).toMatchObject(
      err(1, 'incompatible CNI versions', 'config is "0.5.0", plugin supports ["0.1.0" "0.2.0" "0.3.0" "0.3.1" "0.4.0" "1.0.0" "1.1.0"]'),
    );
  });
  test('minimum version per command', async () => {
    expect(await run({ ...env, CNI_COMMAND: 'CHECK' }, conf({ cniVersion: '0.3.1' }))).toMatchObject(
      err(1, 'config version does not allow CHECK'),
    );
    expect(await run({ CNI_COMMAND: 'GC', CNI_PATH: '/p' }, conf({ cniVersion: '1.0.0' }))).toMatchObject(
      err(1, 'config version does not allow GC'),
    );
    expect(await run({ CNI_COMMAND: 'STATUS', CNI_PATH: '/p' }, conf({ cniVersion: '1.0.0' }))).toMatchObject(
      err(1, 'config version does not allow STATUS'),
    );
    expect(await run({ ...env, CNI_COMMAND: 'CHECK' }, conf({ cniVersion: 'x.y' }))).toMatchObject(
      err(6, 'failed to convert major version part "x": strconv.Atoi: parsing "x": invalid syntax'),
    );
  });
  test('plugin schema failure → 7 naming the field', async () => {
    const out = await run(env, conf({ mtu: 10 }));
    expect(out.exitCode).toBe(1);
    // Go's encoder escapes '>' as \u003e
    expect(out.stdout).toBe('{\n    "code": 7,\n    "msg": "mtu: Too small: expected number to be \\u003e=68"\n}');
  });
  test('case-insensitive keys reach the plugin canonicalised; missing cniVersion is 0.1.0', async () => {
    seen.length = 0;
    const out = await run(env, { NAME: 'net1', Type: 'demo', MTU: 1400 });
    expect(out.exitCode).toBe(0);
    expect(seen[0]?.conf).toEqual({ name: 'net1', type: 'demo', mtu: 1400 });
    expect(seen[0]?.ctx.cniVersion).toBe('0.1.0');
  });
});

describe('ADD output', () => {
  const env = { ...baseEnv, CNI_COMMAND: 'ADD' };
  test('1.0.0 result as the reference prints it; log lines on stderr', async () => {
    expect(await run(env, conf())).toEqual({
      exitCode: 0,
      stdout: JSON.stringify(
        {
          cniVersion: '1.0.0',
          interfaces: [{ mac: '0a:00:00:00:00:01', name: 'eth0', sandbox: podNs }],
          ips: [{ address: '10.0.0.2/24', gateway: '10.0.0.1', interface: 0 }],
          routes: [{ dst: '0.0.0.0/0' }],
        },
        null,
        4,
      ),
      stderr: 'added\n',
    });
  });
  test.each([
    ['0.1.0', { cniVersion: '0.1.0', ip4: { ip: '10.0.0.2/24', gateway: '10.0.0.1', routes: [{ dst: '0.0.0.0/0' }] }, dns: {} }],
    ['0.2.0', { cniVersion: '0.2.0', ip4: { ip: '10.0.0.2/24', gateway: '10.0.0.1', routes: [{ dst: '0.0.0.0/0' }] }, dns: {} }],
    ...['0.3.0', '0.3.1', '0.4.0'].map((v) => [
      v,
      {
        cniVersion: v,
        interfaces: [{ name: 'eth0', mac: '0a:00:00:00:00:01', sandbox: podNs }],
        ips: [{ version: '4', interface: 0, address: '10.0.0.2/24', gateway: '10.0.0.1' }],
        routes: [{ dst: '0.0.0.0/0' }],
        dns: {},
      },
    ]),
    [
      '1.1.0',
      {
        cniVersion: '1.1.0',
        interfaces: [{ mac: '0a:00:00:00:00:01', name: 'eth0', sandbox: podNs }],
        ips: [{ address: '10.0.0.2/24', gateway: '10.0.0.1', interface: 0 }],
        routes: [{ dst: '0.0.0.0/0' }],
      },
    ],
  ] as Array<[string, object]>)('printed as %s', async (v, expected) => {
    const out = await run(env, conf({ cniVersion: v }));
    expect(out.stdout).toBe(JSON.stringify(expected, null, 4));
    expect(out.exitCode).toBe(0);
  });
  test('L2-only result in 0.2.0 → 999', async () => {
    expect(await run(env, conf({ cniVersion: '0.2.0', fail: 'l2' }))).toMatchObject(err(999, 'cannot convert: no valid IP addresses'));
  });
  test('typed error keeps its code; plain error → 999', async () => {
    expect(await run(env, conf({ fail: 'typed' }))).toMatchObject(err(11, 'busy', 'try later'));
    expect(await run(env, conf({ fail: 'plain' }))).toMatchObject(err(999, 'boom'));
  });
});

describe('context', () => {
  test('prevResult converted to the newest form; args and path split', async () => {
    seen.length = 0;
    const prevResult = { cniVersion: '0.4.0', ips: [{ version: '4', address: '10.0.0.9/24' }], routes: [{ dst: '0.0.0.0/0', mtu: 1400 }] };
    const out = await run(
      { ...baseEnv, CNI_COMMAND: 'DEL', CNI_ARGS: 'IgnoreUnknown=1;K8S_POD_NAME=p', CNI_PATH: '/a:/b' },
      conf({ cniVersion: '0.4.0', prevResult }),
    );
    expect(out).toEqual({ exitCode: 0, stdout: '', stderr: '' });
    const ctx = seen[0]!.ctx;
    expect(ctx.prevResult).toMatchObject({
      cniVersion: '1.1.0',
      ips: [{ address: '10.0.0.9/24' }],
      routes: [{ dst: '0.0.0.0/0', mtu: 1400 }],
    });
    expect(ctx.args).toEqual([
      ['IgnoreUnknown', '1'],
      ['K8S_POD_NAME', 'p'],
    ]);
    expect(ctx.path).toEqual(['/a', '/b']);
    expect(ctx.rawConfig).toEqual(conf({ cniVersion: '0.4.0', prevResult }));
  });
  test('bad prevResult → 7 naming the field', async () => {
    expect(await run({ ...baseEnv, CNI_COMMAND: 'DEL' }, conf({ prevResult: { ips: [{ address: 'nope' }] } }))).toMatchObject(
      err(7, 'prevResult.ips[0].address: invalid CIDR "nope"'),
    );
  });
  test('GC gets the valid attachments, falling back to the old key', async () => {
    seen.length = 0;
    const list = [{ containerID: 'c1', ifname: 'eth0' }];
    await run({ CNI_COMMAND: 'GC', CNI_PATH: '/p' }, conf({ cniVersion: '1.1.0', 'cni.dev/valid-attachments': list }));
    await run({ CNI_COMMAND: 'GC', CNI_PATH: '/p' }, conf({ cniVersion: '1.1.0', 'cni.dev/attachments': list }));
    expect(seen.map((s) => s.ctx.validAttachments)).toEqual([list, list]);
  });
  test('STATUS and CHECK without handler succeed', async () => {
    expect(await run({ CNI_COMMAND: 'STATUS', CNI_PATH: '/p' }, conf({ cniVersion: '1.1.0' }))).toEqual({
      exitCode: 0,
      stdout: '',
      stderr: '',
    });
    expect(await run({ ...baseEnv, CNI_COMMAND: 'CHECK' }, conf())).toEqual({ exitCode: 0, stdout: '', stderr: '' });
  });
});

describe('netns self-check', () => {
  test('CNI_NETNS equal to the host namespace → 8 before the plugin runs', async () => {
    seen.length = 0;
    expect(await run({ ...baseEnv, CNI_COMMAND: 'ADD', CNI_NETNS: hostNs }, conf())).toMatchObject(
      err(8, "plugin's netns and netns from CNI_NETNS should not be the same"),
    );
    expect(seen).toHaveLength(0);
  });
  test('CNI_NETNS_OVERRIDE=true skips it', async () => {
    expect((await run({ ...baseEnv, CNI_COMMAND: 'ADD', CNI_NETNS: hostNs, CNI_NETNS_OVERRIDE: 'True' }, conf())).exitCode).toBe(0);
  });
});

describe('withRollback', () => {
  test('undoes in reverse on failure and rethrows', async () => {
    const done: number[] = [];
    await expect(
      withRollback(async (rb) => {
        rb.push(() => done.push(1));
        rb.push(() => {
          throw new Error('undo fails');
        });
        rb.push(() => done.push(3));
        throw new Error('step');
      }),
    ).rejects.toThrow('step');
    expect(done).toEqual([3, 1]);
  });
});
