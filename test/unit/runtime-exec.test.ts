// The exec path of the runtime against fake plugins (real processes): env, timeout, broken output,
// error JSON, missing plugin, "text file busy", and the runtime's own validation.
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseNetworkList } from '../../src/runtime/conf-parse.js';
import type { NetworkList } from '../../src/runtime/types.js';
import { calls, fakePlugin, fakeRuntime, onAdd, rejection, result100 } from '../helpers/runtime-fakes.js';

const netList = (plugins: unknown[], cniVersion = '1.0.0', name = 'fakenet'): NetworkList =>
  parseNetworkList(Buffer.from(JSON.stringify({ cniVersion, name, plugins })));
const rt = { containerId: 'c1', netns: '/var/run/netns/fake', ifname: 'eth0' };

describe('exec path', () => {
  it('sets all six CNI_* after the base env, ours winning; stderr goes to options.stderr', async () => {
    const { bin, runtime, stderr } = fakeRuntime({
      env: { PATH: process.env.PATH, FOO: 'kept', CNI_COMMAND: 'bogus', CNI_IFNAME: 'bogus' },
    });
    fakePlugin(bin, 'p', `echo note >&2\n${onAdd(result100('10.0.0.2/24'))}`);
    const res = await runtime.addNetworkList(netList([{ type: 'p' }]), {
      ...rt,
      args: [
        ['IgnoreUnknown', '1'],
        ['K', 'V'],
      ],
    });
    expect(res.ips).toEqual([{ address: '10.0.0.2/24', gateway: '10.0.0.1', interface: 0 }]);
    const [c] = calls(bin);
    expect(c).toMatchObject({
      cmd: 'ADD',
      id: 'c1',
      netns: '/var/run/netns/fake',
      ifname: 'eth0',
      args: 'IgnoreUnknown=1;K=V',
      path: bin,
      foo: 'kept',
    });
    expect(stderr.join('')).toBe('note\n');
  });

  it('kills a hung plugin at the timeout with an error naming it', async () => {
    const { bin, runtime } = fakeRuntime({ timeoutMs: 400 });
    fakePlugin(bin, 'hang', `echo $$ > ${bin}/pid\nexec sleep 30`);
    const t0 = Date.now();
    const err = await rejection(runtime.addNetworkList(netList([{ type: 'hang' }]), rt));
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(err.message).toMatch(
      /^plugin type="hang" failed \(add\): plugin "hang" \(.*\/hang\) did not finish within 400 ms and was killed$/,
    );
    const pid = Number(readFileSync(join(bin, 'pid'), 'utf8'));
    await new Promise((r) => setTimeout(r, 100));
    expect(existsSync(`/proc/${pid}`) && !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ')).toBe(false);
  });

  it("non-zero exit: the plugin's error JSON keeps its code; garbage and silence are described", async () => {
    const { bin, runtime } = fakeRuntime();
    fakePlugin(bin, 'busy', `echo '{"cniVersion":"1.0.0","code":11,"msg":"busy","details":"try later"}'; exit 1`);
    fakePlugin(bin, 'garbage', 'echo panic: oops; exit 2');
    fakePlugin(bin, 'quiet', 'echo went wrong >&2; exit 3');
    fakePlugin(bin, 'mute', 'exit 4');
    const busy = await rejection(runtime.addNetworkList(netList([{ type: 'busy' }]), rt));
    expect([busy.code, busy.message, busy.details]).toEqual([11, 'plugin type="busy" failed (add): busy', 'try later']);
    const garbage = await rejection(runtime.addNetworkList(netList([{ type: 'garbage' }]), rt));
    expect(garbage.code).toBe(999);
    expect(garbage.message).toMatch(
      /^plugin type="garbage" failed \(add\): netplugin failed but error parsing its diagnostic message "panic: oops\\n": /,
    );
    expect((await rejection(runtime.addNetworkList(netList([{ type: 'quiet' }]), rt))).message).toBe(
      'plugin type="quiet" failed (add): netplugin failed: "went wrong\\n": exit status 3',
    );
    expect((await rejection(runtime.addNetworkList(netList([{ type: 'mute' }]), rt))).message).toBe(
      'plugin type="mute" failed (add): netplugin failed with no error message: exit status 4',
    );
  });

  it('ADD that prints nothing, or garbage, with exit 0 is an error naming the plugin', async () => {
    const { bin, runtime, cache } = fakeRuntime();
    fakePlugin(bin, 'silent', 'exit 0');
    fakePlugin(bin, 'junk', 'echo "not json"');
    const silent = await rejection(runtime.addNetworkList(netList([{ type: 'silent', name: 'mine' }]), rt));
    expect(silent.message).toBe('plugin type="silent" name="mine" failed (add): plugin "silent" printed no result on ADD');
    const junk = await rejection(runtime.addNetworkList(netList([{ type: 'junk' }]), rt));
    expect(junk.message).toMatch(/^plugin type="junk" failed \(add\): failed to unmarshal raw result of plugin "junk": /);
    expect(existsSync(join(cache, 'results'))).toBe(false);
  });

  it('a missing plugin is libcni\'s "failed to find plugin"', async () => {
    const { bin, runtime } = fakeRuntime();
    const err = await rejection(runtime.addNetworkList(netList([{ type: 'nope' }]), rt));
    expect(err.message).toBe(`plugin type="nope" failed (add): failed to find plugin "nope" in path [${bin}]`);
  });

  it('a result without cniVersion is read in the config version (fixupResultVersion)', async () => {
    const { bin, runtime } = fakeRuntime();
    fakePlugin(bin, 'nover', onAdd({ ips: [{ version: '4', address: '10.0.0.9/24' }] }));
    const res = await runtime.addNetworkList(netList([{ type: 'nover' }], '0.4.0'), rt);
    expect(res).toEqual({ cniVersion: '0.4.0', ips: [{ version: '4', address: '10.0.0.9/24' }], dns: {} });
  });

  it('retries "text file busy" until the binary is closed', async () => {
    const { bin, runtime } = fakeRuntime();
    const file = fakePlugin(bin, 'busyfile', onAdd(result100('10.0.0.3/24')));
    const fd = openSync(file, 'r+');
    setTimeout(() => closeSync(fd), 1500);
    const t0 = Date.now();
    const res = await runtime.addNetworkList(netList([{ type: 'busyfile' }]), rt);
    expect(res.ips).toHaveLength(1);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1000);
  });

  it('validates container ID, network name and ifname before running anything', async () => {
    const { bin, runtime } = fakeRuntime();
    fakePlugin(bin, 'p', onAdd(result100('10.0.0.2/24')));
    const l = netList([{ type: 'p' }]);
    const codes = async (p: Promise<unknown>) => {
      const e = await rejection(p);
      return [e.code, e.message];
    };
    expect(await codes(runtime.addNetworkList(l, { ...rt, containerId: '' }))).toEqual([3, 'missing containerID']);
    expect(await codes(runtime.addNetworkList(l, { ...rt, containerId: '../x' }))).toEqual([4, 'invalid characters in containerID']);
    expect(await codes(runtime.delNetworkList(l, { ...rt, ifname: 'a-very-long-ifname' }))).toEqual([4, 'interface name is too long']);
    expect(await codes(runtime.addNetworkList(l, { ...rt, ifname: 'a/b' }))).toEqual([
      4,
      'interface name contains / or : or whitespace characters',
    ]);
    expect(await codes(runtime.addNetworkList(netList([{ type: 'p' }], '1.0.0', 'bad/name'), rt))).toEqual([
      7,
      'invalid characters found in network name',
    ]);
    expect(calls(bin)).toEqual([]);
  });
});

describe('options', () => {
  it('refuses a host namespace that exec would ignore (no loadPlugin, or in-process off)', async () => {
    const { CniRuntime } = await import('../../src/runtime/cni-runtime.js');
    const { loadPlugin } = await import('../../src/plugins.js');
    const hostNetns = '/var/run/netns/node';
    expect(() => new CniRuntime({ pluginPath: [], hostNetns })).toThrow(/hostNetns applies to plugins run in-process only/);
    expect(() => new CniRuntime({ pluginPath: [], hostNetns, loadPlugin, inProcess: false })).toThrow(/in-process only/);
    expect(new CniRuntime({ pluginPath: [], hostNetns, loadPlugin }).options.hostNetns).toBe(hostNetns);
  });
});
