// portmap from a caller in a mount and network namespace of its own (as containerd or a runtime in a
// container is), through the launcher and the agent, the launcher's fallback to Node, and the library
// in-process: the same bytes for ADD, CHECK, DEL and a refused request, the maps right after ADD and
// empty after DEL, and the agent serving exactly its share.
import { describe, expect, it } from 'vitest';
import { agentStatus } from '../../src/agent/status.js';
import { startAgentProcess } from '../helpers/agent.js';
import { nodeAndPod, tempDir } from '../helpers/fixtures.js';
import { portmapElements } from '../helpers/portmap.js';
import { callOnPath, privateCaller, type CallPath } from '../helpers/private-caller.js';
import { OUR_BIN } from '../helpers/run-plugin.js';

describe('portmap on every path, from a caller with its own mounts', () => {
  it('ADD, CHECK, DEL and a refusal give the same bytes through the agent, the fallback and in-process', async () => {
    const agent = await startAgentProcess();
    const dir = tempDir('private');
    const outputs: Record<CallPath, string[]> = { agent: [], fallback: [], 'in-process': [] };
    for (const path of ['agent', 'fallback', 'in-process'] as const) {
      const { node, pod } = nodeAndPod();
      const caller = await privateCaller({ node, pod, dir });
      const call = (env: Record<string, string>, conf: unknown) =>
        callOnPath(path, { caller, plugin: 'portmap', socketPath: agent.socketPath, env, conf });
      const prevResult = {
        cniVersion: '1.1.0',
        interfaces: [{ name: 'eth0', mac: '0a:58:0a:62:00:05', sandbox: caller.netnsPath }],
        ips: [
          { address: '10.98.0.5/24', gateway: '10.98.0.1', interface: 0 },
          { address: 'fd00:98::5/64', interface: 0 },
        ],
      };
      const mappings = [
        { hostPort: 8080, containerPort: 80, protocol: 'tcp' },
        { hostPort: 5300, containerPort: 53, protocol: 'udp', hostIP: '192.168.7.1' },
      ];
      const conf = { cniVersion: '1.1.0', name: 'pmnet', type: 'portmap', runtimeConfig: { portMappings: mappings }, prevResult };
      const env = (command: string) => ({
        CNI_COMMAND: command,
        CNI_CONTAINERID: 'ctr-pm',
        CNI_IFNAME: 'eth0',
        CNI_NETNS: caller.netnsPath,
        CNI_PATH: OUR_BIN,
      });

      const add = await call(env('ADD'), conf);
      expect(add, `${path} ADD`).toMatchObject({ code: 0, stderr: '' });
      // the result is prevResult, unchanged
      expect(JSON.parse(add.stdout)).toEqual(prevResult);
      expect(portmapElements(node)).toEqual([
        'ip hairpin 10.98.0.5 . 10.98.0.5 # pmnet ctr-pm/eth0',
        'ip hairpin 127.0.0.1 . 10.98.0.5 # pmnet ctr-pm/eth0',
        'ip hostip-hostports 192.168.7.1 . udp . 5300 # pmnet ctr-pm/eth0 : 10.98.0.5 . 53',
        'ip hostports tcp . 8080 # pmnet ctr-pm/eth0 : 10.98.0.5 . 80',
        'ip6 hairpin fd00:98::5 . fd00:98::5 # pmnet ctr-pm/eth0',
        'ip6 hostports tcp . 8080 # pmnet ctr-pm/eth0 : fd00:98::5 . 80',
      ]);
      outputs[path].push(add.stdout);
      const check = await call(env('CHECK'), conf);
      expect(check, `${path} CHECK`).toEqual({ code: 0, stdout: '', stderr: '' });
      // another attachment asking for a held port
      const refused = await call({ ...env('ADD'), CNI_CONTAINERID: 'ctr-other' }, conf);
      expect(refused.code, `${path} refused`).toBe(1);
      outputs[path].push(refused.stdout);
      // DEL as a runtime that sends neither the mappings nor prevResult
      const del = await call(env('DEL'), { cniVersion: '1.1.0', name: 'pmnet', type: 'portmap' });
      expect(del, `${path} DEL`).toEqual({ code: 0, stdout: '', stderr: '' });
      expect(portmapElements(node)).toEqual([]);
      // CHECK now names what is missing
      const gone = await call(env('CHECK'), conf);
      expect(gone.code, `${path} CHECK after DEL`).toBe(1);
      expect(JSON.parse(gone.stdout).msg).toMatch(/^portmap: host port tcp\/8080 -> 10\.98\.0\.5:80 is missing/);
      outputs[path].push(gone.stdout);
    }
    const status = await agentStatus(agent.socketPath);
    expect(status.latency).toMatchObject({
      'portmap ADD': { count: 2, errors: 1 },
      'portmap CHECK': { count: 2, errors: 1 },
      'portmap DEL': { count: 1, errors: 0 },
    });
    expect(outputs.fallback).toEqual(outputs.agent);
    expect(outputs['in-process']).toEqual(outputs.agent);
  });
});
