// The tuning plugin on a real pod interface: ADD sets sysctls and link attributes and saves the
// originals in the reference's backup file, CHECK compares, DEL restores; bad input changes nothing;
// DEL never fails; the reference restores our backups and we restore theirs.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cni, nodeAndPod, tempDir } from '../helpers/fixtures.js';
import { ip, removeNetns, type Netns } from '../helpers/netns.js';
import { REF_BIN, type PluginRun } from '../helpers/run-plugin.js';
import { linkView, podInterface, podSysctl, type LinkView } from '../helpers/tuning.js';

const MAC = 'c2:11:22:33:44:55';

/** A result the main plugin of a chain would have returned for the pod's eth0. */
function prevResult(pod: Netns): Record<string, unknown> {
  return {
    cniVersion: '1.0.0',
    interfaces: [{ name: 'eth0', mac: '02:00:00:00:00:01', sandbox: pod.path }],
    ips: [{ address: '10.1.0.2/24', interface: 0 }],
  };
}

function tuningConf(pod: Netns, dataDir: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { cniVersion: '1.0.0', name: 'tunenet', type: 'tuning', dataDir, prevResult: prevResult(pod), ...extra };
}

/** The pod with an eth0 to tune. */
function tunablePod(): { node: Netns; pod: Netns } {
  const { node, pod } = nodeAndPod();
  podInterface(pod);
  return { node, pod };
}

const RP = 'net/ipv4/conf/eth0/rp_filter';
const MARTIANS = 'net/ipv4/conf/all/log_martians';

/** What tuning may touch in the pod: eth0's attributes and the two sysctls the tests write. */
function podState(pod: Netns): { link: LinkView | undefined; rp: string; martians: string } {
  return { link: linkView(pod), rp: podSysctl(pod, RP), martians: podSysctl(pod, MARTIANS) };
}

function errorOf(r: PluginRun): { code: number; msg: string } {
  expect(r.code, r.stdout).not.toBe(0);
  return r.json as { code: number; msg: string };
}

describe('tuning ADD, CHECK, DEL', () => {
  it('sets sysctls and every link attribute, saves the originals, CHECKs, and DEL puts them back', async () => {
    const { node, pod } = tunablePod();
    const dataDir = join(tempDir('tuning'), 'state');
    const before = podState(pod);
    const conf = tuningConf(pod, dataDir, {
      sysctl: { 'net.ipv4.conf.IFNAME.rp_filter': '2', [MARTIANS]: '1' },
      mac: MAC.toUpperCase(),
      mtu: 1400,
      promisc: true,
      allmulti: true,
      txQLen: 77,
    });
    const add = await cni('ADD', { node, pod, id: 'ctr-t', conf });
    expect(add.code, add.stdout + add.stderr).toBe(0);
    // prevResult comes back with the MAC as written in the config, as the reference reports it
    expect(add.json).toEqual({ ...prevResult(pod), interfaces: [{ name: 'eth0', mac: MAC.toUpperCase(), sandbox: pod.path }] });
    expect(podState(pod)).toEqual({ link: { mac: MAC, mtu: 1400, promisc: true, allmulti: true, txqlen: 77 }, rp: '2', martians: '1' });
    // the reference's file and format: the former values of exactly what was changed
    const backup = join(dataDir, 'ctr-t_eth0.json');
    const b = before.link!;
    expect(readFileSync(backup, 'utf8')).toBe(
      `{\n "mac": "${b.mac}",\n "promisc": false,\n "mtu": ${b.mtu},\n "allmulti": false,\n "txQLen": ${b.txqlen}\n}`,
    );

    const check = await cni('CHECK', { node, pod, id: 'ctr-t', conf: { ...conf, prevResult: add.json } });
    expect(check, check.stdout).toMatchObject({ code: 0, stdout: '' });

    const del = await cni('DEL', { node, pod, id: 'ctr-t', conf });
    expect(del).toMatchObject({ code: 0, stdout: '' });
    // link attributes restored; sysctls stay (the reference does not restore them either)
    expect(podState(pod)).toEqual({ ...before, rp: '2', martians: '1' });
    expect(existsSync(backup)).toBe(false);
    // a second DEL has nothing to do
    expect(await cni('DEL', { node, pod, id: 'ctr-t', conf })).toMatchObject({ code: 0, stdout: '' });
  });

  it('takes args.cni over the config, and the MAC from CNI_ARGS and runtimeConfig; sysctl-only ADDs write no backup', async () => {
    const { node, pod } = tunablePod();
    const dataDir = tempDir('tuning');
    const conf = tuningConf(pod, dataDir, {
      mtu: 1400,
      args: { cni: { mtu: 1300, allmulti: true } },
      runtimeConfig: { mac: '02:aa:00:00:00:02' },
    });
    const add = await cni('ADD', { node, pod, id: 'ctr-a', conf, args: 'IgnoreUnknown=1;MAC=02:aa:00:00:00:01' });
    expect(add.code, add.stdout).toBe(0);
    expect(linkView(pod)).toMatchObject({ mtu: 1300, allmulti: true, mac: '02:aa:00:00:00:02' });
    const del = await cni('DEL', { node, pod, id: 'ctr-a', conf });
    expect(del.code).toBe(0);
    expect(linkView(pod)).toMatchObject({ mtu: 1500, allmulti: false });

    const only = await cni('ADD', { node, pod, id: 'ctr-s', conf: tuningConf(pod, dataDir, { sysctl: { [RP]: '1' } }) });
    expect(only.code, only.stdout).toBe(0);
    expect(podSysctl(pod, RP)).toBe('1');
    expect(readdirSync(dataDir)).toEqual([]);
  });

  it('CHECK fails when a sysctl or an attribute drifted, with the reference messages', async () => {
    const { node, pod } = tunablePod();
    const conf = tuningConf(pod, tempDir('tuning'), { sysctl: { 'net.ipv4.conf.IFNAME.rp_filter': '2' }, mtu: 1400 });
    const add = await cni('ADD', { node, pod, id: 'ctr-c', conf });
    expect(add.code, add.stdout).toBe(0);
    const withPrev = { ...conf, prevResult: add.json };
    ip('-n', pod.name, 'link', 'set', 'eth0', 'mtu', '1450');
    expect(errorOf(await cni('CHECK', { node, pod, id: 'ctr-c', conf: withPrev }))).toEqual({
      code: 999,
      msg: 'Error: Tuning configured MTU of eth0 is 1400, current value is 1450',
    });
    ip('-n', pod.name, 'link', 'set', 'eth0', 'mtu', '1400');
    ip('netns', 'exec', pod.name, 'sh', '-c', `echo 0 > /proc/sys/${RP}`);
    expect(errorOf(await cni('CHECK', { node, pod, id: 'ctr-c', conf: withPrev }))).toEqual({
      code: 999,
      msg: `Error: Tuning configured value of /proc/sys/${RP} is 2, current value is 0`,
    });
    ip('netns', 'exec', pod.name, 'sh', '-c', `echo 2 > /proc/sys/${RP}`);
    ip('-n', pod.name, 'link', 'set', 'eth0', 'promisc', 'on');
    expect(errorOf(await cni('CHECK', { node, pod, id: 'ctr-c', conf: withPrev })).msg).toBe(
      'Error: Tuning link eth0 configured promisc is false, current value is 1',
    );
    ip('-n', pod.name, 'link', 'set', 'eth0', 'promisc', 'off');
    expect(await cni('CHECK', { node, pod, id: 'ctr-c', conf: withPrev })).toMatchObject({ code: 0 });
  });
});

describe('tuning bad input: the right code and nothing changed', () => {
  const cases: Array<{
    label: string;
    extra?: Record<string, unknown>;
    raw?: (conf: Record<string, unknown>) => string;
    code: number;
    msg: RegExp;
  }> = [
    {
      label: 'a sysctl outside net.*',
      extra: { sysctl: { [RP]: '2', 'kernel.hostname': 'x' } },
      code: 7,
      msg: /^sysctl: invalid net sysctl key: "kernel.hostname"/,
    },
    {
      label: 'a sysctl key with "../"',
      extra: { sysctl: { [RP]: '2', 'net/ipv4/../../kernel/hostname': 'x' } },
      code: 7,
      msg: /^sysctl: invalid net sysctl key "net\/ipv4\/..\/..\/kernel\/hostname": ".." is not allowed/,
    },
    {
      label: 'a "../" that stays under net/',
      extra: { args: { cni: { sysctl: { 'net/ipv4/conf/all/../../ip_forward': '1' } } } },
      code: 7,
      msg: /^args\.cni\.sysctl: invalid net sysctl key .* ".." is not allowed/,
    },
    {
      label: 'a bad MAC',
      extra: { sysctl: { [RP]: '2' }, mac: 'c2:11:22:33:44' },
      code: 7,
      msg: /^mac: invalid MAC address "c2:11:22:33:44"/,
    },
    {
      label: 'a multicast MAC',
      extra: { runtimeConfig: { mac: '01:00:5e:00:00:01' } },
      code: 7,
      msg: /^runtimeConfig\.mac: .* not a unicast/,
    },
    {
      label: 'an MTU out of range',
      extra: { sysctl: { [RP]: '2' }, mtu: 70000 },
      code: 7,
      msg: /^mtu: 70000 is out of range \(68–65535\)/,
    },
    {
      label: 'duplicate sysctl keys',
      raw: (c) => JSON.stringify(c).replace('"sysctl":{', `"sysctl":{"${RP}":"1",`),
      extra: { sysctl: { [RP]: '2' } },
      code: 7,
      msg: /^sysctl: duplicated sysctl keys are not allowed/,
    },
    {
      label: 'a value the kernel refuses, after a sysctl and with link attributes that were fine',
      extra: { sysctl: { [RP]: '2', [MARTIANS]: 'abc' }, mtu: 1400, promisc: true },
      code: 7,
      msg: /sysctl write: Invalid argument: \/proc\/sys\/net\/ipv4\/conf\/all\/log_martians/,
    },
    {
      label: 'no prevResult',
      extra: { sysctl: { [RP]: '2' }, mtu: 1400, prevResult: undefined },
      code: 999,
      msg: /^Required prevResult missing$/,
    },
  ];
  for (const c of cases) {
    it(c.label, async () => {
      const { node, pod } = tunablePod();
      const dataDir = tempDir('tuning');
      const before = podState(pod);
      const conf = tuningConf(pod, dataDir, c.extra);
      const res = await cni('ADD', { node, pod, id: 'ctr-bad', plugin: 'tuning', conf: c.raw ? c.raw(conf) : conf });
      const err = errorOf(res);
      expect(err.code, err.msg).toBe(c.code);
      expect(err.msg).toMatch(c.msg);
      expect(podState(pod)).toEqual(before);
      expect(readdirSync(dataDir)).toEqual([]);
    });
  }

  it('a missing interface (999) changes no sysctl either', async () => {
    const { node, pod } = nodeAndPod();
    const dataDir = tempDir('tuning');
    expect(podSysctl(pod, MARTIANS)).toBe('0');
    const conf = tuningConf(pod, dataDir, { sysctl: { [MARTIANS]: '1' }, mtu: 1400 });
    expect(errorOf(await cni('ADD', { node, pod, id: 'ctr-bad', conf }))).toMatchObject({
      code: 999,
      msg: 'failed to get "eth0": Link not found',
    });
    expect(podSysctl(pod, MARTIANS)).toBe('0');
    expect(readdirSync(dataDir)).toEqual([]);
  });
});

describe('tuning DEL never fails', () => {
  it('removes the backup when the namespace, CNI_NETNS or the link is gone, or the file is not a backup', async () => {
    const dataDir = tempDir('tuning');
    const backup = (id: string) => join(dataDir, `${id}_eth0.json`);
    const added = async (id: string) => {
      const { node, pod } = tunablePod();
      const conf = tuningConf(pod, dataDir, { mtu: 1400 });
      expect((await cni('ADD', { node, pod, id, conf })).code).toBe(0);
      expect(existsSync(backup(id))).toBe(true);
      return { node, pod, conf };
    };
    const a = await added('ns-gone');
    removeNetns(a.pod.name);
    expect(await cni('DEL', { node: a.node, pod: a.pod, id: 'ns-gone', conf: a.conf })).toMatchObject({ code: 0, stdout: '' });
    expect(existsSync(backup('ns-gone'))).toBe(false);

    const b = await added('no-netns');
    expect(await cni('DEL', { node: b.node, id: 'no-netns', conf: { ...b.conf, prevResult: undefined } })).toMatchObject({ code: 0 });
    expect(existsSync(backup('no-netns'))).toBe(false);

    const c = await added('link-gone');
    ip('-n', c.pod.name, 'link', 'del', 'eth0');
    expect(await cni('DEL', { node: c.node, pod: c.pod, id: 'link-gone', conf: c.conf })).toMatchObject({ code: 0 });
    expect(existsSync(backup('link-gone'))).toBe(false);

    const d = await added('corrupt');
    writeFileSync(backup('corrupt'), '{"mtu": "x"');
    expect(await cni('DEL', { node: d.node, pod: d.pod, id: 'corrupt', conf: d.conf })).toMatchObject({ code: 0 });
    expect(existsSync(backup('corrupt'))).toBe(false);
    expect(linkView(d.pod)?.mtu).toBe(1400); // nothing to restore from

    expect(await cni('DEL', { node: d.node, pod: d.pod, id: 'never-added', conf: d.conf })).toMatchObject({ code: 0, stdout: '' });
  });
});

describe('tuning and the reference share backups', () => {
  const attrs = { mac: MAC, mtu: 1400, promisc: true, allmulti: true };

  for (const [adder, deleter] of [
    ['ours', 'ref'],
    ['ref', 'ours'],
  ] as const) {
    it(`${adder} ADD, ${deleter} DEL restores the interface`, async () => {
      const { node, pod } = tunablePod();
      const dataDir = tempDir('tuning');
      const before = linkView(pod);
      const conf = tuningConf(pod, dataDir, attrs);
      const add = await cni('ADD', { node, pod, id: 'ctr-x', conf, binDir: adder === 'ref' ? REF_BIN : undefined });
      expect(add.code, add.stdout).toBe(0);
      expect(linkView(pod)).toMatchObject({ mac: MAC, mtu: 1400, promisc: true, allmulti: true });
      const del = await cni('DEL', { node, pod, id: 'ctr-x', conf, binDir: deleter === 'ref' ? REF_BIN : undefined });
      expect(del.code, del.stdout).toBe(0);
      expect(linkView(pod)).toEqual(before);
      expect(readdirSync(dataDir)).toEqual([]);
    });
  }

  it('writes the same bytes as the reference for the same change', async () => {
    const { node, pod } = tunablePod();
    const files: string[] = [];
    for (const binDir of [REF_BIN, undefined]) {
      const dataDir = tempDir('tuning');
      const conf = tuningConf(pod, dataDir, attrs);
      expect((await cni('ADD', { node, pod, id: 'ctr-b', conf, binDir })).code).toBe(0);
      files.push(readFileSync(join(dataDir, 'ctr-b_eth0.json'), 'utf8'));
      expect((await cni('DEL', { node, pod, id: 'ctr-b', conf, binDir })).code).toBe(0);
    }
    expect(files[1]).toBe(files[0]);
  });
});
