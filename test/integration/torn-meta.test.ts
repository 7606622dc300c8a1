// Meta plugins' files torn (truncated to zero bytes) between ADD and DEL, through the launcher (the
// agent absent: it falls back to Node): flannel's kept delegate config and tuning's backup. DEL
// succeeds with a warning and frees what the pod held, and the next ADD of the container works.
import { existsSync, readdirSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cni, nodeAndPod, tempDir } from '../helpers/fixtures.js';
import { flannelPlugin, SUBNET_ENV_V4, writeSubnetEnv } from '../helpers/flannel.js';
import { linkView, podInterface } from '../helpers/tuning.js';

/** host-local's reservations of flannel's delegate network. */
function reserved(dir: string): string[] {
  return readdirSync(join(dir, 'networks', 'cbr0'))
    .filter((f) => /^\d+\.\d+\.\d+\.\d+$/.test(f))
    .sort();
}

describe('torn files of meta plugins', () => {
  it('flannel: an empty delegate file — DEL warns, DELs the delegate rendered again and frees the address; ADD again works', async () => {
    const { node, pod } = nodeAndPod();
    const dir = tempDir('torn-flannel');
    writeSubnetEnv(dir, SUBNET_ENV_V4);
    const conf = { cniVersion: '1.0.0', name: 'cbr0', ...flannelPlugin(dir) };
    const add = await cni('ADD', { node, pod, id: 'ctr-f', conf });
    expect(add.code, add.stdout).toBe(0);
    expect(reserved(dir)).toHaveLength(1);
    const kept = join(dir, 'flannel', 'ctr-f');
    truncateSync(kept, 0);

    const del = await cni('DEL', { node, pod, id: 'ctr-f', conf });
    expect(del.code, del.stdout).toBe(0);
    expect(del.stderr).toMatch(/failed to parse netconf .*ctr-f: .*: DEL with the delegate rendered again from .*subnet\.env/);
    expect(reserved(dir)).toEqual([]);
    expect(existsSync(kept)).toBe(false);
    expect(linkView(pod)).toBeUndefined();

    const again = await cni('ADD', { node, pod, id: 'ctr-f', conf });
    expect(again.code, again.stdout).toBe(0);
    expect(reserved(dir)).toHaveLength(1);
    expect((await cni('DEL', { node, pod, id: 'ctr-f', conf })).code).toBe(0);
    expect(reserved(dir)).toEqual([]);
  });

  it('tuning: an empty backup — DEL warns and removes it; ADD again saves a new one', async () => {
    const { node, pod } = nodeAndPod();
    podInterface(pod);
    const dataDir = tempDir('torn-tuning');
    const prevResult = { cniVersion: '1.0.0', interfaces: [{ name: 'eth0', sandbox: pod.path }], ips: [] };
    const conf = { cniVersion: '1.0.0', name: 'tunenet', type: 'tuning', dataDir, mtu: 1400, prevResult };
    const mtu = linkView(pod)!.mtu;
    expect((await cni('ADD', { node, pod, id: 'ctr-t', conf })).code).toBe(0);
    const backup = join(dataDir, 'ctr-t_eth0.json');
    truncateSync(backup, 0);

    const del = await cni('DEL', { node, pod, id: 'ctr-t', conf });
    expect(del.code, del.stdout).toBe(0);
    expect(del.stderr).toMatch(/tuning: .*ctr-t_eth0\.json is not a backup; removed/);
    expect(existsSync(backup)).toBe(false);
    // nothing to restore from: the MTU stays as ADD set it
    expect(linkView(pod)!.mtu).toBe(1400);

    expect((await cni('ADD', { node, pod, id: 'ctr-t', conf })).code).toBe(0);
    expect(existsSync(backup)).toBe(true);
    expect((await cni('DEL', { node, pod, id: 'ctr-t', conf })).code).toBe(0);
    // the new backup holds 1400, what the interface had at that ADD
    expect(linkView(pod)!.mtu).toBe(1400);
    expect(mtu).not.toBe(1400);
  });
});
