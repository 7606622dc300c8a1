// The tuning plugin's pure decisions: sysctl keys, where each setting comes from, the checks made
// before the pod is touched, duplicate keys in the request's bytes, and the backup file's format.
import { describe, expect, it } from 'vitest';
import { normalMac, sysctlPath, tuningConfigSchema, tuningOf } from '../../plugins/tuning/config.js';
import { duplicateKeys } from '../../plugins/tuning/duplicate-keys.js';
import { formatBackup, parseBackup } from '../../plugins/tuning/backup.js';
import { CniError } from '../../src/spec/errors.js';

const base = { name: 'n', cniVersion: '1.0.0', type: 'tuning' };

/** tuningOf for a config object, its bytes the JSON of that object unless given. */
function plan(extra: Record<string, unknown>, o: { ifname?: string; cniArgs?: string; text?: string } = {}) {
  const conf = { ...base, ...extra };
  const stdin = Buffer.from(o.text ?? JSON.stringify(conf));
  return tuningOf(tuningConfigSchema.parse(conf), { stdin, ifname: o.ifname ?? 'eth0', cniArgs: o.cniArgs });
}

function refused(f: () => unknown): CniError {
  try {
    f();
  } catch (e) {
    if (e instanceof CniError) return e;
    throw e;
  }
  throw new Error('not refused');
}

describe('sysctl keys', () => {
  it('reads dotted and slashed keys as the sysctl tool does, and puts the interface in for IFNAME', () => {
    expect(sysctlPath('net.core.somaxconn', 'eth0')).toBe('net/core/somaxconn');
    expect(sysctlPath('net/ipv4/conf/eth0.100/rp_filter', 'x')).toBe('net/ipv4/conf/eth0.100/rp_filter');
    expect(sysctlPath('net.ipv4.conf.eth0/100.rp_filter', 'x')).toBe('net/ipv4/conf/eth0.100/rp_filter');
    expect(sysctlPath('net.ipv4.conf.IFNAME.arp_notify', 'net1')).toBe('net/ipv4/conf/net1/arp_notify');
    // the interface goes in after the separators are read: a dot in its name stays a dot
    expect(sysctlPath('net.ipv6.conf.IFNAME.accept_ra', 'eth0.7')).toBe('net/ipv6/conf/eth0.7/accept_ra');
    expect(sysctlPath('/net//ipv4/./ip_forward', 'x')).toBe('net/ipv4/ip_forward');
  });

  it('refuses keys outside net/ and any ".." with code 7 naming the field and the key', () => {
    for (const key of [
      'kernel.hostname',
      'net',
      'vm/swappiness',
      'net/../kernel/hostname',
      'net/ipv4/conf/../all/forwarding',
      '../net/core',
    ]) {
      const e = refused(() => sysctlPath(key, 'eth0'));
      expect(e.code, key).toBe(7);
      expect(e.message, key).toMatch(/^sysctl: invalid net sysctl key/);
      expect(e.message, key).toContain(JSON.stringify(key));
    }
    // an interface name cannot smuggle a ".." in: a "/" in it is refused before, and ".." as a whole name is caught here
    expect(refused(() => sysctlPath('net.ipv4.conf.IFNAME.x', '..')).code).toBe(7);
  });
});

describe('tuning config', () => {
  it('takes mac, promisc, mtu, allmulti, txQLen from the config', () => {
    const t = plan({ mac: 'C2-11-22-33-44-55', promisc: true, mtu: 1400, allmulti: false, txQLen: 0 });
    expect(t.link).toEqual({ mac: 'c2:11:22:33:44:55', promisc: true, mtu: 1400, allmulti: false, txQLen: 0 });
    expect(t.macAsGiven).toBe('C2-11-22-33-44-55');
    // like the reference: promisc false and mtu 0 mean "leave alone"
    expect(plan({ promisc: false, mtu: 0 }).link).toEqual({});
  });

  it('lets args.cni override the config, and takes the MAC as the reference does', () => {
    const t = plan({
      mac: '02:00:00:00:00:01',
      mtu: 1400,
      promisc: true,
      sysctl: { 'net.core.somaxconn': '100', 'net.ipv4.ip_forward': '1' },
      args: { cni: { mtu: 1300, promisc: false, txQLen: 5, allmulti: true, sysctl: { 'net.core.somaxconn': '200' } } },
    });
    expect(t.link).toEqual({ mac: '02:00:00:00:00:01', mtu: 1300, allmulti: true, txQLen: 5 });
    expect(t.sysctls.map((s) => [s.path, s.value, s.field])).toEqual([
      ['net/core/somaxconn', '200', 'args.cni.sysctl'],
      ['net/ipv4/ip_forward', '1', 'sysctl'],
    ]);
    const mac = (extra: Record<string, unknown>, cniArgs?: string) => plan(extra, { cniArgs }).link.mac;
    expect(mac({ mac: '02:00:00:00:00:01' }, 'IgnoreUnknown=1;MAC=02:00:00:00:00:02')).toBe('02:00:00:00:00:02');
    expect(mac({ runtimeConfig: { mac: '02:00:00:00:00:03' } }, 'MAC=02:00:00:00:00:02')).toBe('02:00:00:00:00:03');
    expect(mac({ runtimeConfig: { mac: '02:00:00:00:00:03' }, args: { cni: { mac: '02:00:00:00:00:04' } } })).toBe('02:00:00:00:00:04');
    expect(mac({ mac: '02:00:00:00:00:01', args: { cni: { mac: '' } } })).toBeUndefined();
    // CNI_ARGS is read as the reference reads it: an unknown key without IgnoreUnknown is code 4
    expect(refused(() => plan({}, { cniArgs: 'K8S_POD_NAME=x' })).code).toBe(4);
  });

  it('refuses a bad MAC, MTU or queue length with code 7 naming the field it came from', () => {
    const cases: Array<[Record<string, unknown>, string, RegExp]> = [
      [{ mac: 'c2:11:22:33:44' }, '', /^mac: invalid MAC address/],
      [{ mac: '01:00:5e:00:00:01' }, '', /^mac: .* is not a unicast MAC address/],
      [{ runtimeConfig: { mac: 'zz:11:22:33:44:55' } }, '', /^runtimeConfig\.mac: invalid MAC/],
      [{}, 'MAC=00:00:00:00:00:00', /^CNI_ARGS MAC: .* not a unicast/],
      [{ mtu: 70000 }, '', /^mtu: 70000 is out of range/],
      [{ mtu: -1 }, '', /^mtu: -1 is out of range/],
      [{ args: { cni: { mtu: 20 } } }, '', /^args\.cni\.mtu: 20 is out of range/],
      [{ txQLen: -5 }, '', /^txQLen: -5 is out of range/],
    ];
    for (const [extra, cniArgs, msg] of cases) {
      const e = refused(() => plan(extra, { cniArgs }));
      expect(e.code, JSON.stringify(extra)).toBe(7);
      expect(e.message).toMatch(msg);
    }
  });

  it('refuses an interface name with "/" (code 4, the reference message)', () => {
    const e = refused(() => plan({}, { ifname: 'a/b' }));
    expect([e.code, e.message]).toEqual([4, 'Interface name (a/b) contains an invalid character /']);
  });

  it('refuses duplicate sysctl keys, which JSON.parse would have merged', () => {
    const text = `{"name":"n","cniVersion":"1.0.0","type":"tuning","sysctl":{"net.core.somaxconn":"1","net.core.somaxconn":"2"}}`;
    const e = refused(() => plan({ sysctl: { 'net.core.somaxconn': '2' } }, { text }));
    expect(e.code).toBe(7);
    expect(e.message).toBe('sysctl: duplicated sysctl keys are not allowed: "net.core.somaxconn"');
  });
});

describe('duplicateKeys', () => {
  it('finds repeated keys of exactly the object at the path', () => {
    const text = `{ "a": [ {"sysctl": {"x": 1, "x": 2}} ], "SysCtl" : { "k\\u0041": "}", "kA": "{", "b": {"k": 1, "k": 2} },
      "args": {"cni": {"sysctl": {"q": "1", "q": "2", "Q": "3"}}}, "n": -1.5e3, "t": true, "z": null }`;
    expect(duplicateKeys(text, ['sysctl'])).toEqual(['kA']);
    expect(duplicateKeys(text, ['args', 'cni', 'sysctl'])).toEqual(['q']);
    expect(duplicateKeys(text, ['none'])).toEqual([]);
    expect(duplicateKeys('{"sysctl": null}', ['sysctl'])).toEqual([]);
  });
});

describe('backup file', () => {
  it('is written as Go writes the reference configToRestore: one-space indent, only what changed', () => {
    expect(formatBackup({ mac: 'aa:bb:cc:dd:ee:ff', promisc: false, mtu: 1500, allmulti: true, txQLen: 1000 })).toBe(
      '{\n "mac": "aa:bb:cc:dd:ee:ff",\n "promisc": false,\n "mtu": 1500,\n "allmulti": true,\n "txQLen": 1000\n}',
    );
    expect(formatBackup({ txQLen: 0 })).toBe('{\n "txQLen": 0\n}');
    expect(formatBackup({})).toBe('{}');
  });

  it('reads what the reference writes, keys in any case, and nothing that is not a backup', () => {
    expect(parseBackup('{\n "mac": "aa:bb:cc:dd:ee:ff",\n "Mtu": 9000,\n "PROMISC": true\n}')).toEqual({
      mac: 'aa:bb:cc:dd:ee:ff',
      mtu: 9000,
      promisc: true,
    });
    for (const bad of ['', 'null', '[]', '{"mtu": "1500"}', '{"promisc": 1}', '{"txQLen": -1}'])
      expect(parseBackup(bad), bad).toBeUndefined();
  });
});

describe('normalMac', () => {
  it('accepts the 6-byte forms of Go net.ParseMAC', () => {
    expect(normalMac('0000.5e00.5301')).toBe('00:00:5e:00:53:01');
    expect(normalMac('AA-BB-CC-DD-EE-FF')).toBe('aa:bb:cc:dd:ee:ff');
    expect(normalMac('aa:bb-cc:dd:ee:ff')).toBeUndefined();
    expect(normalMac('00:00:5e:00:53:01:02:03')).toBeUndefined();
  });
});
