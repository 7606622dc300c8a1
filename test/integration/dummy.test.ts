// The dummy plugin: ADD→CHECK→DEL where the kernel has the dummy driver (this test machine's does
// not: those tests skip, naming the module), and on any kernel a missing driver and bad input
// reported with their code, the address released and nothing left.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cidrsOf, cni, nodeAndPod, tempDir } from '../helpers/fixtures.js';
import { ip } from '../helpers/netns.js';
import { kernelHasLinkKind } from '../helpers/link-kinds.js';
import { podLinks, tunLink } from '../helpers/tap.js';

const hasDummy = kernelHasLinkKind('dummy');

function dummyConf(dataDir: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    cniVersion: '1.0.0',
    name: 'dummynet',
    type: 'dummy',
    ipam: { type: 'host-local', subnet: '10.97.0.0/24', routes: [{ dst: '10.200.0.0/16' }], dataDir },
    ...extra,
  };
}

function reserved(dataDir: string): string[] {
  const dir = join(dataDir, 'dummynet');
  return existsSync(dir) ? readdirSync(dir).filter((f) => /^\d+\.\d+\.\d+\.\d+$/.test(f)) : [];
}

describe('dummy', () => {
  it.skipIf(!hasDummy)(
    'ADD makes an up dummy link with the address and routes, CHECK passes, DEL removes it (needs module dummy)',
    async () => {
      const { node, pod } = nodeAndPod();
      const dataDir = tempDir('ipam');
      const conf = dummyConf(dataDir);
      const add = await cni('ADD', { node, pod, id: 'ctr-dummy', conf });
      expect(add.code, add.stdout).toBe(0);
      const link = tunLink(pod, 'eth0');
      expect(add.json).toEqual({
        cniVersion: '1.0.0',
        interfaces: [{ name: 'eth0', mac: link?.address, sandbox: pod.path }],
        ips: [{ address: '10.97.0.2/24', gateway: '10.97.0.1', interface: 0 }],
        routes: [{ dst: '10.200.0.0/16' }],
      });
      expect(link?.linkinfo?.info_kind).toBe('dummy');
      expect(link?.flags).toContain('UP');
      expect(cidrsOf(pod, 'eth0')).toEqual(['10.97.0.2/24']);
      expect(ip('-n', pod.name, 'route', 'show', '10.200.0.0/16')).toContain('via 10.97.0.1 dev eth0');
      const checked = { ...conf, prevResult: add.json };
      expect(await cni('CHECK', { node, pod, id: 'ctr-dummy', conf: checked })).toMatchObject({ code: 0, stdout: '' });
      ip('-n', pod.name, 'link', 'set', 'eth0', 'down');
      expect((await cni('CHECK', { node, pod, id: 'ctr-dummy', conf: checked })).json).toMatchObject({
        code: 999,
        msg: 'Interface eth0 is down',
      });
      expect(await cni('DEL', { node, pod, id: 'ctr-dummy', conf: checked })).toMatchObject({ code: 0, stdout: '' });
      expect(podLinks(pod)).toEqual([]);
      expect(reserved(dataDir)).toEqual([]);
    },
  );

  it.runIf(!hasDummy)('without the dummy driver: ADD fails naming the module, releases the address and leaves no link', async () => {
    const { node, pod } = nodeAndPod();
    const dataDir = tempDir('ipam');
    const run = await cni('ADD', { node, pod, id: 'ctr-dummy', conf: dummyConf(dataDir) });
    expect(run.code).toBe(1);
    expect(run.json).toMatchObject({ code: 999, msg: expect.stringContaining('the kernel has no dummy driver (module dummy)') });
    expect(podLinks(pod)).toEqual([]);
    expect(reserved(dataDir)).toEqual([]);
    expect(await cni('DEL', { node, pod, id: 'ctr-dummy', conf: dummyConf(dataDir) })).toMatchObject({ code: 0, stdout: '' });
  });

  it('bad input: no IPAM is code 7 naming the field, before anything is made', async () => {
    const { node, pod } = nodeAndPod();
    for (const ipam of [undefined, {}, { type: '' }]) {
      const run = await cni('ADD', { node, pod, id: 'ctr-dummy', conf: { cniVersion: '1.0.0', name: 'dummynet', type: 'dummy', ipam } });
      expect(run.code).toBe(1);
      expect(run.json).toMatchObject({ code: 7, msg: 'ipam: dummy interface requires an IPAM configuration' });
      expect(podLinks(pod)).toEqual([]);
    }
  });
});
