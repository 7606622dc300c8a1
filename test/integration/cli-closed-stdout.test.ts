// A reader that stops early (`fastcni agent status | head -1`) closes the CLI's stdout: the CLI
// ends quietly, with no stack trace and the exit status it has when its output is read to the end.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startAgentProcess } from '../helpers/agent.js';
import { CLI, fastcni, sandbox, writeBridgeList } from '../helpers/cli.js';
import { tempDir } from '../helpers/fixtures.js';
import { execWith } from '../helpers/run-plugin.js';

interface Ended {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
}

/** Run the CLI with its stdout (and with `both`, its stderr too) a pipe whose reader has gone. */
function withClosedOutput(args: string[], env: Record<string, string>, both = false): Promise<Ended> {
  const child = spawn(process.execPath, [CLI, ...args], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env }, stdio: 'pipe' });
  child.stdin.end();
  // Closed before the CLI writes anything: a Node start alone takes tens of milliseconds.
  child.stdout.destroy();
  if (both) child.stderr.destroy();
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stderr }));
  });
}

/** Every line the CLI wrote to stderr that is not one of its own `error: …` lines. */
function noise(stderr: string): string[] {
  return stderr.split('\n').filter((l) => l !== '' && !l.startsWith('error: '));
}

describe('a closed stdout', () => {
  it('ends every kind of command quietly, with its usual exit status', async () => {
    const agent = await startAgentProcess();
    const s = sandbox();
    writeBridgeList(s);
    const commands = [
      ['agent', 'status', '--socket', agent.socketPath],
      ['--json', 'agent', 'status', '--socket', agent.socketPath],
      ['list'],
      ['--json', 'version'],
      ['--help'],
      ['status', 'no-such-network'],
    ];
    for (const args of commands) {
      const usual = await fastcni(args, { env: s.env });
      expect(usual.stdout.length + usual.stderr.length, args.join(' ')).toBeGreaterThan(0);
      const ended = await withClosedOutput(args, s.env);
      expect(noise(ended.stderr), args.join(' ')).toEqual([]);
      expect(ended.stderr, args.join(' ')).toBe(usual.stderr);
      expect({ code: ended.code, signal: ended.signal }, args.join(' ')).toEqual({ code: usual.code, signal: null });
    }
    expect((await fastcni(['status', 'no-such-network'], { env: s.env })).code).toBe(1);
  });

  it('with stderr closed too, a failing command still exits 1 and a working one 0', async () => {
    const s = sandbox();
    expect(await withClosedOutput(['status', 'no-such-network'], s.env, true)).toEqual({ code: 1, signal: null, stderr: '' });
    expect(await withClosedOutput(['version'], s.env, true)).toEqual({ code: 0, signal: null, stderr: '' });
  });

  it('in a shell pipeline into a `head` that reads nothing, the pipeline succeeds under pipefail', async () => {
    const agent = await startAgentProcess();
    const err = join(tempDir('stderr'), 'stderr');
    // `head -n 0` exits at once, long before the CLI has started and writes its lines.
    const script = 'set -o pipefail; "$0" "$1" agent status --socket "$2" 2>"$3" | head -n 0';
    const res = await execWith('bash', ['-c', script, process.execPath, CLI, agent.socketPath, err], { PATH: process.env.PATH ?? '' }, '');
    expect(readFileSync(err, 'utf8')).toBe('');
    expect(res.code).toBe(0);
  });
});
