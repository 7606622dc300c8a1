// `fastcni install`, `fastcni agent` and `fastcni agent status` as a person runs them.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { tempDir } from '../helpers/fixtures.js';
import { execWith, ROOT } from '../helpers/run-plugin.js';

const CLI = join(ROOT, 'dist', 'src', 'cli', 'fastcni.js');
const env = () => ({ PATH: process.env.PATH ?? '/usr/bin:/bin' });

async function waitFor(path: string): Promise<void> {
  for (let i = 0; i < 100 && !existsSync(path); i++) await new Promise((r) => setTimeout(r, 50));
}

describe('fastcni install / agent', () => {
  it('installs launchers with an example network, never over a foreign binary without --force', async () => {
    const dir = tempDir('install');
    const bin = join(dir, 'bin');
    const res = await execWith(process.execPath, [CLI, 'install', '--bin-dir', bin, '--conf-dir', join(dir, 'conf')], env(), '');
    expect(res.code, res.stderr).toBe(0);
    for (const p of ['bridge', 'host-local', 'loopback', 'portmap']) expect(statSync(join(bin, p)).mode & 0o111).not.toBe(0);
    expect(JSON.parse(readFileSync(join(dir, 'conf', '10-fastcni.conflist'), 'utf8')).plugins[0].type).toBe('bridge');
    expect(res.stdout).toContain(`ExecStart=${process.execPath} ${CLI} agent --socket /run/fastcni/agent.sock`);

    const foreign = join(dir, 'bin2');
    await execWith('sh', ['-c', `mkdir -p ${foreign} && printf '#!/bin/sh\\necho theirs\\n' > ${foreign}/bridge`], env(), '');
    const refused = await execWith(process.execPath, [CLI, 'install', '--bin-dir', foreign], env(), '');
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/^error: .*bridge/);
    expect(readFileSync(join(foreign, 'bridge'), 'utf8')).toContain('theirs');
    const forced = await execWith(process.execPath, [CLI, 'install', '--bin-dir', foreign, '--force'], env(), '');
    expect(forced.code, forced.stderr).toBe(0);
    expect(readFileSync(join(foreign, 'bridge')).includes('fastcni-plugin')).toBe(true);
  });

  it('runs the agent, reports its status, and stops on SIGTERM removing its socket', async () => {
    const sock = join(tempDir('agent'), 'run', 'agent.sock');
    const agent = spawn(process.execPath, [CLI, 'agent', '--socket', sock, '--log-level', 'warn'], { stdio: 'ignore' });
    onTestFinished(() => void agent.kill('SIGKILL'));
    await waitFor(sock);
    expect(statSync(sock).mode & 0o777).toBe(0o600);
    const status = await execWith(process.execPath, [CLI, '--json', 'agent', 'status', '--socket', sock], env(), '');
    expect(status.code, status.stderr).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({ pid: agent.pid, requests: 0, errors: 0 });
    const exited = new Promise<number | null>((r) => agent.on('exit', (code) => r(code)));
    agent.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(existsSync(sock)).toBe(false);
    const gone = await execWith(process.execPath, [CLI, 'agent', 'status', '--socket', sock], env(), '');
    expect(gone.code).not.toBe(0);
    expect(gone.stderr).toMatch(/^error: /);
  });
});
