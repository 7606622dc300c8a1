// The firewall plugin through the launcher and the agent, the launcher's fallback to Node, and the
// library in-process, from a caller in a mount and network namespace of its own: the same bytes, the
// same kernel state. And the firewalld backend's errors against a real D-Bus (a private
// dbus-daemon on a socket in a temp dir, on which firewalld does not run).
import { spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it, onTestFinished } from 'vitest';
import { agentStatus } from '../../src/agent/status.js';
import { startAgentProcess } from '../helpers/agent.js';
import { nodeAndPod, tempDir } from '../helpers/fixtures.js';
import { firewallTable, ownName } from '../helpers/firewall.js';
import { type CallPath, callOnPath, privateCaller } from '../helpers/private-caller.js';
import { OUR_BIN, type PluginRun } from '../helpers/run-plugin.js';

const PREV = { cniVersion: '1.0.0', interfaces: [{ name: 'fcfwp0' }], ips: [{ address: '10.96.0.5/24' }] };
const conf = (extra: Record<string, unknown> = {}) => ({
  cniVersion: '1.0.0',
  name: 'fwpaths',
  type: 'firewall',
  backend: 'iptables',
  ingressPolicy: 'same-bridge',
  prevResult: PREV,
  ...extra,
});

describe('firewall from a caller in a mount namespace of its own', () => {
  it('ADD, CHECK, DEL and errors give the same bytes through the agent, the fallback and in-process', async () => {
    const agent = await startAgentProcess();
    const dir = tempDir('private');
    const outputs: Record<CallPath, PluginRun[]> = { agent: [], fallback: [], 'in-process': [] };
    for (const path of ['agent', 'fallback', 'in-process'] as const) {
      const { node, pod } = nodeAndPod();
      const caller = await privateCaller({ node, pod, dir });
      const env = (command: string) => ({
        CNI_COMMAND: command,
        CNI_CONTAINERID: 'ctr-fw',
        CNI_IFNAME: 'eth0',
        CNI_NETNS: caller.netnsPath,
        CNI_PATH: OUR_BIN,
      });
      const run = async (command: string, stdin: unknown) => {
        const r = await callOnPath(path, { caller, plugin: 'firewall', socketPath: agent.socketPath, env: env(command), conf: stdin });
        outputs[path].push({ code: r.code, stdout: r.stdout, stderr: r.stderr });
        return r;
      };
      const add = await run('ADD', conf());
      expect(add, `${path} ADD`).toMatchObject({ code: 0, stderr: '' });
      expect(JSON.parse(add.stdout)).toEqual(PREV);
      expect(firewallTable(node).elements).toEqual(
        expect.arrayContaining([expect.stringMatching(/^pods4-\w+ "10\.96\.0\.5" ctr-fw\/eth0$/), 'policy-bridges fcfwp0']),
      );
      expect(await run('CHECK', conf()), `${path} CHECK`).toEqual({ code: 0, stdout: '', stderr: '' });
      const { prevResult: _p, ...noPrev } = conf();
      expect(await run('DEL', noPrev), `${path} DEL`).toEqual({ code: 0, stdout: '', stderr: '' });
      expect(firewallTable(node).elements.filter((e) => e.startsWith('pods'))).toEqual([]);
      // errors: a bad field, and the firewalld backend where no system bus is (this process's default address)
      expect((await run('ADD', conf({ ingressPolicy: 'strict' }))).code).toBe(1);
      const firewalld = await run('ADD', conf({ backend: 'firewalld' }));
      expect(firewalld.code).toBe(1);
      expect(JSON.parse(firewalld.stdout)).toMatchObject({ code: 2, msg: expect.stringMatching(/^backend "firewalld" is not supported/) });
    }
    const status = await agentStatus(agent.socketPath);
    expect(status.latency).toMatchObject({
      'firewall ADD': { count: 3, errors: 2 },
      'firewall CHECK': { count: 1 },
      'firewall DEL': { count: 1 },
    });
    expect(outputs.fallback).toEqual(outputs.agent);
    expect(outputs['in-process']).toEqual(outputs.agent);
  });
});

/** A private system bus: dbus-daemon on a socket in a temp dir, stopped when the test finishes. */
async function privateBus(): Promise<string> {
  const dir = tempDir('dbus');
  const socket = join(dir, 'system_bus_socket');
  const config = join(dir, 'bus.conf');
  writeFileSync(
    config,
    `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=${socket}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*"/>
    <allow receive_sender="*"/>
  </policy>
</busconfig>
`,
  );
  const p = spawn('dbus-daemon', ['--nofork', `--config-file=${config}`], { stdio: 'ignore' });
  onTestFinished(() => {
    p.kill('SIGKILL');
  });
  for (let i = 0; i < 200 && !existsSync(socket); i++) await sleep(25);
  if (!existsSync(socket)) throw new Error('dbus-daemon did not start');
  return `unix:path=${socket}`;
}

describe('the firewalld backend', () => {
  it('is refused with code 2 when firewalld is not on the D-Bus; the default backend is then ours', async () => {
    const address = await privateBus();
    const none = `unix:path=${join(tempDir('nobus'), 'system_bus_socket')}`;
    const outputs: Record<'fallback' | 'in-process', PluginRun[]> = { fallback: [], 'in-process': [] };
    for (const path of ['fallback', 'in-process'] as const) {
      const { node, pod } = nodeAndPod();
      const caller = await privateCaller({ node, pod, dir: tempDir('private') });
      const env = (command: string, bus: string) => ({
        CNI_COMMAND: command,
        CNI_CONTAINERID: 'ctr-fwd',
        CNI_IFNAME: 'eth0',
        CNI_NETNS: caller.netnsPath,
        CNI_PATH: OUR_BIN,
        DBUS_SYSTEM_BUS_ADDRESS: bus,
      });
      const run = async (bus: string, extra: Record<string, unknown>) => {
        const r = await callOnPath(path, {
          caller,
          plugin: 'firewall',
          socketPath: '',
          env: env('ADD', bus),
          conf: conf({ backend: 'firewalld', ...extra }),
        });
        outputs[path].push({ code: r.code, stdout: r.stdout.replaceAll(address, 'BUS').replaceAll(none, 'NOBUS'), stderr: r.stderr });
        return r;
      };
      const noBus = await run(none, {});
      expect(noBus.code).toBe(1);
      expect(JSON.parse(noBus.stdout)).toEqual({
        code: 2,
        msg: `backend "firewalld" is not supported by fastcni (firewalld is not on the D-Bus (no system bus at ${none.slice('unix:path='.length)})); use backend "iptables" for fastcni's nf_tables rules`,
      });
      const noOwner = await run(address, {});
      expect(noOwner.code).toBe(1);
      expect(JSON.parse(noOwner.stdout).msg).toContain(
        `org.fedoraproject.FirewallD1 has no owner on the bus at ${address.slice('unix:path='.length)}`,
      );
      expect(firewallTable(node)).toEqual({ chains: [], elements: [] });
      // no backend named: firewalld is not running, so ours serves it
      const dflt = await run(address, { backend: '' });
      expect(dflt.code, dflt.stdout).toBe(0);
      expect(firewallTable(node).elements).toEqual(
        expect.arrayContaining([expect.stringMatching(/^pods4-\w+ "10\.96\.0\.5" ctr-fwd\/eth0$/)]),
      );
    }
    expect(outputs['in-process']).toEqual(outputs.fallback);
  });

  it('is refused with code 2 when firewalld owns its name, also as the default backend', async () => {
    const address = await privateBus();
    await ownName(address.slice('unix:path='.length), 'org.fedoraproject.FirewallD1');
    const outputs: Record<'fallback' | 'in-process', PluginRun[]> = { fallback: [], 'in-process': [] };
    for (const path of ['fallback', 'in-process'] as const) {
      const { node, pod } = nodeAndPod();
      const caller = await privateCaller({ node, pod, dir: tempDir('private') });
      for (const backend of ['firewalld', '']) {
        const env = { CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'ctr-fwd', CNI_IFNAME: 'eth0', CNI_NETNS: caller.netnsPath, CNI_PATH: OUR_BIN };
        const r = await callOnPath(path, {
          caller,
          plugin: 'firewall',
          socketPath: '',
          env: { ...env, DBUS_SYSTEM_BUS_ADDRESS: address },
          conf: conf({ backend }),
        });
        expect(r.code).toBe(1);
        outputs[path].push({ code: r.code, stdout: r.stdout, stderr: r.stderr });
      }
      expect(firewallTable(node)).toEqual({ chains: [], elements: [] });
    }
    expect(outputs.fallback.map((r) => JSON.parse(r.stdout))).toEqual([
      {
        code: 2,
        msg: `backend "firewalld" is not supported by fastcni (firewalld owns org.fedoraproject.FirewallD1 on the system bus); use backend "iptables" for fastcni's nf_tables rules`,
      },
      {
        code: 2,
        msg: `backend "firewalld" is not supported by fastcni (the default backend is "firewalld" because firewalld owns org.fedoraproject.FirewallD1 on the system bus); use backend "iptables" for fastcni's nf_tables rules`,
      },
    ]);
    expect(outputs['in-process']).toEqual(outputs.fallback);
  });
});
