// The chain a runtime writes for its default network — bridge, portmap, firewall, tuning, as podman's
// CNI backend writes it (containers/common libnetwork/cni) — with every plugin ours, end to end through
// libcni (cnitool) and through our runtime (the fastcni CLI). Both run where podman would: in the
// node's network namespace, with /var/lib (libcni's cache, host-local's default dataDir) a private
// directory bind-mounted in a mount namespace of their own, so the config is podman's byte for byte.
import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { CLI, cnitool, cnitoolSandbox, haveCnitool, type CnitoolSandbox } from '../helpers/cli.js';
import { addrs, cidrsOf, nodeAndPod } from '../helpers/fixtures.js';
import type { Netns } from '../helpers/netns.js';
import { ruleset } from '../helpers/nft.js';
import { execWith, type PluginRun } from '../helpers/run-plugin.js';

const NET = 'podman1';
const BRIDGE = 'cni-podman1';
const GATEWAY = '10.89.0.1';
const HOST_PORT = 18080;
const CONTAINER_PORT = 8080;

/** What `podman network create` writes for a bridge network with the CNI backend. */
const PODMAN_CONFLIST = {
  cniVersion: '1.0.0',
  name: NET,
  plugins: [
    {
      type: 'bridge',
      bridge: BRIDGE,
      isGateway: true,
      ipMasq: true,
      hairpinMode: true,
      ipam: {
        type: 'host-local',
        routes: [{ dst: '0.0.0.0/0' }],
        ranges: [[{ subnet: '10.89.0.0/24', gateway: GATEWAY }]],
      },
    },
    { type: 'portmap', capabilities: { portMappings: true } },
    { type: 'firewall', backend: '' },
    { type: 'tuning' },
  ],
  args: { podman_labels: { 'io.podman.example': 'yes' } },
};

const CAP_ARGS = JSON.stringify({ portMappings: [{ hostPort: HOST_PORT, containerPort: CONTAINER_PORT, protocol: 'tcp' }] });

/** The fastcni CLI as cnitool runs: in `node`, with the sandbox's /var/lib over the machine's. */
function ourRuntime(s: CnitoolSandbox, node: Netns, args: string[]): Promise<PluginRun> {
  const script = 'mount --bind "$1" /var/lib && shift && exec ip netns exec "$@"';
  return execWith(
    'unshare',
    ['-m', '--propagation', 'private', 'sh', '-c', script, 'sh', s.varLib, node.name, process.execPath, CLI, ...args],
    { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', NETCONFPATH: s.confDir, CNI_PATH: s.env.CNI_PATH!, CAP_ARGS },
    '',
  );
}

/** A TCP server in the pod answering "pong <its port>" to each connection. */
async function podServer(pod: Netns): Promise<void> {
  const code = `require('net').createServer((c) => c.end('pong ' + c.localPort)).listen(${CONTAINER_PORT}, () => console.log('ready'))`;
  const child: ChildProcess = spawn('ip', ['netns', 'exec', pod.name, process.execPath, '-e', code], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  onTestFinished(() => {
    child.kill();
  });
  await new Promise<void>((resolve, reject) => {
    child.stdout!.once('data', () => resolve());
    child.once('exit', (c) => reject(new Error(`pod server exited with ${c}`)));
  });
}

/** Connect from `node` to address:port and return what the server said (or the error). */
async function ask(node: Netns, address: string, port: number): Promise<string> {
  const code = `const s = require('net').connect(${port}, '${address}'); s.setTimeout(3000, () => { console.log('timeout'); process.exit(0) });
    let got = ''; s.on('data', (d) => { got += d }); s.on('end', () => console.log(got)); s.on('error', (e) => console.log(e.code))`;
  const r = await execWith(
    'ip',
    ['netns', 'exec', node.name, process.execPath, '-e', code],
    { PATH: process.env.PATH ?? '/usr/bin:/bin' },
    '',
  );
  return r.stdout.trim();
}

/** What a result keeps from one attachment to the next: MACs, the host veth and the pod's path vary. */
function shape(stdout: string, pod: Netns): string {
  return stdout
    .replace(/[0-9a-f]{2}(:[0-9a-f]{2}){5}/g, 'MAC')
    .replace(/veth[0-9a-f]{8}/g, 'VETH')
    .replaceAll(pod.path, 'NETNS');
}

describe.skipIf(!haveCnitool)("podman's default network (bridge, portmap, firewall, tuning), every plugin ours", () => {
  it('ADD, CHECK and DEL through cnitool and through fastcni: same result, the port mapped, nothing left', async () => {
    const shapes: string[] = [];
    for (const via of ['cnitool', 'fastcni'] as const) {
      const { node, pod } = nodeAndPod();
      const s = cnitoolSandbox();
      writeFileSync(join(s.confDir, `${NET}.conflist`), JSON.stringify(PODMAN_CONFLIST, null, 2));
      const run = (verb: string) =>
        via === 'cnitool'
          ? cnitool(s, node, [verb, NET, pod.path], { env: { CAP_ARGS } })
          : // --json: print the result as cnitool does
            ourRuntime(s, node, [verb, NET, pod.path, ...(verb === 'add' ? ['--json'] : [])]);

      const add = await run('add');
      expect(add, `${via} add`).toMatchObject({ code: 0 });
      const result = JSON.parse(add.stdout) as { ips: Array<{ address: string }>; interfaces: Array<{ name: string }> };
      const address = result.ips[0]!.address;
      expect(address).toMatch(/^10\.89\.0\.\d+\/24$/);
      expect(cidrsOf(pod, 'eth0')).toEqual([address]);
      expect(result.interfaces.map((i) => i.name)[0]).toBe(BRIDGE);
      shapes.push(shape(add.stdout, pod).replaceAll(address, 'POD/24'));

      // the mapped port reaches the pod, from the node to its own address on the bridge
      await podServer(pod);
      expect(await ask(node, GATEWAY, HOST_PORT)).toBe(`pong ${CONTAINER_PORT}`);
      const podIp = address.split('/')[0]!;
      expect(JSON.stringify(ruleset(node))).toContain(podIp);

      const check = await run('check');
      expect(check, `${via} check`).toMatchObject({ code: 0 });

      const del = await run('del');
      expect(del, `${via} del`).toMatchObject({ code: 0 });
      // nothing of the pod is left: no veth, no address, no nf_tables element naming it, no mapping
      expect(addrs(pod).map((l) => l.ifname)).toEqual(['lo']);
      expect(addrs(node).filter((l) => l.linkinfo?.info_kind === 'veth')).toEqual([]);
      expect(JSON.stringify(ruleset(node))).not.toContain(podIp);
      expect(readdirSync(join(s.varLib, 'cni', 'networks', NET)).filter((f) => f.startsWith('10.'))).toEqual([]);
      expect(readdirSync(join(s.varLib, 'cni', 'results'))).toEqual([]);
      expect(await ask(node, GATEWAY, HOST_PORT)).not.toBe(`pong ${CONTAINER_PORT}`);
    }
    expect(shapes[1]).toBe(shapes[0]);
  });
});
