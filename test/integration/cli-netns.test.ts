// `fastcni netns add|list|del`: named namespaces under /var/run/netns, checked with ip(8).
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { describe, expect, it, onTestFinished } from 'vitest';
import { fastcni } from '../helpers/cli.js';
import { ip, ipJson, RUN_PREFIX, removeNetns } from '../helpers/netns.js';

function ipNetnsNames(): string[] {
  return ip('netns', 'list')
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter(Boolean);
}

/** A fresh name of this run, removed with ip(8) after the test whatever happens. */
function nsName(): string {
  const name = `${RUN_PREFIX}cli-${randomBytes(3).toString('hex')}`;
  onTestFinished(() => removeNetns(name));
  return name;
}

describe('fastcni netns', () => {
  it('add creates a namespace ip(8) sees, list shows it, del removes it, del again is fine', async () => {
    const name = nsName();
    const add = await fastcni(['netns', 'add', name]);
    expect(add.stderr).toBe('');
    expect(add.code).toBe(0);
    expect(add.stdout).toBe(`/var/run/netns/${name}\n`);
    expect(ipNetnsNames()).toContain(name);
    // a real, separate namespace: only lo inside
    expect(ipJson<Array<{ ifname: string }>>('-n', name, 'link').map((l) => l.ifname)).toEqual(['lo']);

    const list = await fastcni(['netns', 'list']);
    expect(list.code).toBe(0);
    expect(list.stdout.split('\n')).toContain(name);
    const listJson = await fastcni(['netns', 'list', '--json']);
    expect(listJson.json).toContain(name);

    const del = await fastcni(['netns', 'del', name]);
    expect(del.code).toBe(0);
    expect(del.stdout).toBe(`deleted namespace ${name}\n`);
    expect(ipNetnsNames()).not.toContain(name);
    expect(existsSync(`/var/run/netns/${name}`)).toBe(false);

    const again = await fastcni(['netns', 'del', name]);
    expect(again.code).toBe(0);
    expect(again.stderr).toBe('');
    expect(again.stdout).toBe(`namespace ${name} does not exist: nothing to delete\n`);
  });

  it('del removes a namespace made by ip netns add', async () => {
    const name = nsName();
    ip('netns', 'add', name);
    const del = await fastcni(['netns', 'del', name]);
    expect(del.code).toBe(0);
    expect(ipNetnsNames()).not.toContain(name);
  });

  it('add of an existing name and of an invalid name fail with one clear line', async () => {
    const name = nsName();
    expect((await fastcni(['netns', 'add', name])).code).toBe(0);
    const dup = await fastcni(['netns', 'add', name]);
    expect(dup.code).toBe(1);
    expect(dup.stderr).toBe(`error: namespace "${name}" already exists: /var/run/netns/${name} (CNI code 4)\n`);
    expect(ipNetnsNames().filter((n) => n === name)).toHaveLength(1);

    for (const bad of ['a/b', '..']) {
      const res = await fastcni(['netns', 'add', bad]);
      expect(res.code).toBe(1);
      expect(res.stderr).toMatch(/^error: invalid namespace name .* \(CNI code 4\)\n$/);
    }
  });
});
