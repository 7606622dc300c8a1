// Torn writes and stale state in host-local's data directory, through the launcher with the agent
// and falling back to Node: an empty reservation file, a last_reserved_ip.<i> without an address, a
// lock file with garbage left by a killed holder. Each is survived with a warning on stderr, no
// address is handed out twice, and the next ADD of the same container works.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { startAgentProcess } from '../helpers/agent.js';
import { tempDir } from '../helpers/fixtures.js';
import { gcConf, hostLocalVia, reservations, TORN_NET, tornConf } from '../helpers/torn.js';

/** The launcher's socket on one path: the agent's, or one where nothing listens. */
async function socketFor(path: 'agent' | 'fallback', dir: string): Promise<string> {
  return path === 'agent' ? (await startAgentProcess()).socketPath : join(dir, 'no-agent.sock');
}

describe.each(['agent', 'fallback'] as const)('host-local torn state through the launcher (%s)', (path) => {
  it('an empty reservation file: DEL warns and keeps the address, the next ADD gets another, GC reclaims it', async () => {
    const dataDir = tempDir('torn-res');
    const socket = await socketFor(path, dataDir);
    const conf = tornConf(dataDir);
    const call = (cmd: string, id: string, c = conf) => hostLocalVia(socket, cmd, id, c);

    const first = await call('ADD', 'ctr-a');
    expect(first.code, first.stdout).toBe(0);
    expect(first.json.ips[0].address).toBe('10.77.0.2/24');
    // a torn write of the reference (it creates the file, then writes the owner)
    truncateSync(join(dataDir, TORN_NET, '10.77.0.2'), 0);

    const del = await call('DEL', 'ctr-a');
    expect(del.code, del.stdout).toBe(0);
    expect(del.stderr).toMatch(/10\.77\.0\.2 is empty: its owner is unknown, the address stays reserved until GC/);
    expect(reservations(dataDir)).toEqual({ '10.77.0.2': '' });

    const again = await call('ADD', 'ctr-a');
    expect(again.code, again.stdout).toBe(0);
    expect(again.json.ips[0].address).toBe('10.77.0.3/24');
    const other = await call('ADD', 'ctr-b');
    expect(other.json.ips[0].address).toBe('10.77.0.4/24');

    const gc = await call('GC', 'ctr-a', gcConf(dataDir, ['ctr-a', 'ctr-b']));
    expect(gc.code, gc.stdout).toBe(0);
    expect(gc.stderr).toContain('host-local: GC released 10.77.0.2');
    expect(reservations(dataDir)).toEqual({ '10.77.0.3': 'ctr-a', '10.77.0.4': 'ctr-b' });

    for (const id of ['ctr-a', 'ctr-b']) expect((await call('DEL', id)).code).toBe(0);
    expect(reservations(dataDir)).toEqual({});
  });

  it('last_reserved_ip.0 empty or with garbage: ADD warns and allocates from the range start, never a held address', async () => {
    const dataDir = tempDir('torn-last');
    const socket = await socketFor(path, dataDir);
    const conf = tornConf(dataDir);
    const last = join(dataDir, TORN_NET, 'last_reserved_ip.0');
    expect((await hostLocalVia(socket, 'ADD', 'ctr-a', conf)).json.ips[0].address).toBe('10.77.0.2/24');
    expect((await hostLocalVia(socket, 'ADD', 'ctr-b', conf)).json.ips[0].address).toBe('10.77.0.3/24');
    expect((await hostLocalVia(socket, 'DEL', 'ctr-a', conf)).code).toBe(0);

    truncateSync(last, 0);
    const c = await hostLocalVia(socket, 'ADD', 'ctr-c', conf);
    expect(c.code, c.stdout).toBe(0);
    expect(c.stderr).toMatch(/last_reserved_ip\.0 holds no address \(""\): allocating from the range start/);
    // from the start: .2 is free again, .3 is held
    expect(c.json.ips[0].address).toBe('10.77.0.2/24');

    writeFileSync(last, 'not an address\0\xff');
    const d = await hostLocalVia(socket, 'ADD', 'ctr-d', conf);
    expect(d.code, d.stdout).toBe(0);
    expect(d.stderr).toMatch(/last_reserved_ip\.0 holds no address \("not an address/);
    expect(d.json.ips[0].address).toBe('10.77.0.4/24');
    expect(readFileSync(last, 'utf8')).toBe('10.77.0.4');
    expect(reservations(dataDir)).toEqual({ '10.77.0.2': 'ctr-c', '10.77.0.3': 'ctr-b', '10.77.0.4': 'ctr-d' });

    // the warning is for damage only: a good file gives none
    const e = await hostLocalVia(socket, 'ADD', 'ctr-e', conf);
    expect(e.stderr).toBe('');
    expect(e.json.ips[0].address).toBe('10.77.0.5/24');
  });

  it('a lock file with garbage whose holder was killed, and staging files a crash left: ADD and DEL go on', async () => {
    const dataDir = tempDir('torn-lock');
    const socket = await socketFor(path, dataDir);
    const conf = tornConf(dataDir);
    const netDir = join(dataDir, TORN_NET);
    mkdirSync(netDir, { recursive: true });
    const lock = join(netDir, 'lock');
    writeFileSync(lock, 'garbage from a killed process\n');
    // a process holding the flock when it is killed (-o: only flock itself holds it, not its
    // command; the whole group goes): the kernel releases it
    const holder = spawn('flock', ['-o', lock, '-c', 'echo held; exec sleep 300'], {
      stdio: ['ignore', 'pipe', 'inherit'],
      detached: true,
    });
    await once(holder.stdout!, 'data');
    const exited = once(holder, 'exit');
    process.kill(-holder.pid!, 'SIGKILL');
    await exited;
    // what a crash between writing and linking leaves (our staging file, a spare with content)
    writeFileSync(join(netDir, '.fastcni-reserving'), 'ctr-dead\r\neth0');
    mkdirSync(join(netDir, '.fastcni-spares'), { recursive: true });
    writeFileSync(join(netDir, '.fastcni-spares', '1.1'), 'ctr-dead\r\neth0');

    const a = await hostLocalVia(socket, 'ADD', 'ctr-a', conf);
    expect(a.code, a.stdout).toBe(0);
    expect(a.json.ips[0].address).toBe('10.77.0.2/24');
    expect(reservations(dataDir)).toEqual({ '10.77.0.2': 'ctr-a' });
    expect((await hostLocalVia(socket, 'CHECK', 'ctr-a', conf)).code).toBe(0);
    expect((await hostLocalVia(socket, 'DEL', 'ctr-a', conf)).code).toBe(0);
    expect((await hostLocalVia(socket, 'ADD', 'ctr-a', conf)).json.ips[0].address).toBe('10.77.0.3/24');
    expect(existsSync(lock)).toBe(true);
  });
});
