import { PassThrough } from 'node:stream';
import { afterEach, expect, test } from 'vitest';
import { z } from 'zod';
import { definePlugin } from '../../src/skel/define-plugin.js';
import { runAsProcess } from '../../src/skel/run-as-process.js';

const plugin = definePlugin({ name: 'p', config: z.object({ name: z.string() }).loose(), add: async () => ({}), del: async () => {} });
afterEach(() => {
  process.exitCode = 0;
});

function io(env: Record<string, string>, input: string) {
  const stdin = new PassThrough();
  stdin.end(input);
  const out: string[] = [];
  const err: string[] = [];
  const stdout = new PassThrough().on('data', (d) => out.push(String(d)));
  const stderr = new PassThrough().on('data', (d) => err.push(String(d)));
  return { io: { env, stdin, stdout, stderr }, out, err };
}

test('reads stdin, writes the error JSON and sets exit code 1', async () => {
  const t = io({ CNI_COMMAND: 'DEL', CNI_CONTAINERID: 'c', CNI_IFNAME: 'eth0', CNI_PATH: '/p' }, '{"cniVersion":"9.9.9","name":"n"}');
  const res = await runAsProcess(plugin, t.io);
  expect(res.exitCode).toBe(1);
  expect(process.exitCode).toBe(1);
  expect(JSON.parse(t.out.join(''))).toEqual({
    code: 1,
    msg: 'incompatible CNI versions',
    details: 'config is "9.9.9", plugin supports ["0.1.0" "0.2.0" "0.3.0" "0.3.1" "0.4.0" "1.0.0" "1.1.0"]',
  });
});

test('no CNI_COMMAND: default about on stderr, exit 0, stdin not read', async () => {
  const t = io({}, '');
  await runAsProcess(plugin, t.io);
  expect(process.exitCode).toBe(0);
  expect(t.err.join('')).toBe('CNI plugin p\nCNI protocol versions supported: 0.1.0, 0.2.0, 0.3.0, 0.3.1, 0.4.0, 1.0.0, 1.1.0\n');
});
