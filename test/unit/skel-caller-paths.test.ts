// A request's paths as its caller means them: resolved under the caller's root (a descriptor, as the
// agent has it), symbolic links followed there and not in this process's root, and messages that
// name what was opened turned back into the caller's strings.
import { closeSync, constants, existsSync, mkdirSync, openSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CallerPaths, OWN_PATHS } from '../../src/skel/caller-paths.js';
import { tempDir } from '../helpers/fixtures.js';

/** A directory opened as the agent holds a caller's root: /proc/self/fd/N. */
function opened(dir: string): string {
  const fd = openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  return `/proc/self/fd/${fd}`;
}

/** A caller's root: Debian's /var/run → /run, a netns file, a data directory reached through a relative link. */
function callerRoot(): string {
  const dir = tempDir('root');
  mkdirSync(join(dir, 'run', 'netns'), { recursive: true });
  writeFileSync(join(dir, 'run', 'netns', 'pod'), '');
  mkdirSync(join(dir, 'var'));
  symlinkSync('/run', join(dir, 'var', 'run'));
  mkdirSync(join(dir, 'store'));
  symlinkSync('store', join(dir, 'data'));
  symlinkSync('/loop', join(dir, 'loop'));
  return dir;
}

describe('CallerPaths', () => {
  it("follows the caller's symbolic links under the caller's root, not this process's", () => {
    const dir = callerRoot();
    const root = opened(dir);
    const cwd = opened(join(dir, 'store'));
    try {
      const paths = new CallerPaths({ root, cwd, mountNs: '/proc/self/ns/mnt' });
      // through /var/run → /run, the caller's /run: taken as written, the kernel would follow it to ours
      expect(paths.local('/var/run/netns/pod')).toBe(`${root}/run/netns/pod`);
      expect(existsSync(paths.local('/var/run/netns/pod'))).toBe(true);
      // what does not exist yet is kept as written (a directory about to be made)
      expect(paths.local('/data/net1/lock')).toBe(`${root}/store/net1/lock`);
      expect(paths.local('/var/run/netns/gone/x')).toBe(`${root}/run/netns/gone/x`);
      // ".." never climbs out of the caller's root
      expect(paths.local('/../../var/run/netns/pod')).toBe(`${root}/run/netns/pod`);
      // relative paths start at the caller's working directory
      expect(paths.local('net1')).toBe(`${cwd}/net1`);
      expect(existsSync(paths.local('../var/run/netns/pod'))).toBe(true);
      // a loop is left to the kernel to refuse
      expect(paths.local('/loop/x')).toBe(`${root}/loop/x`);
      expect(paths.local('')).toBe('');
    } finally {
      closeSync(Number(root.split('/').pop()));
      closeSync(Number(cwd.split('/').pop()));
    }
  });

  it("turns what it made of the request's paths back into the caller's strings in messages", () => {
    const dir = callerRoot();
    const root = opened(dir);
    try {
      const paths = new CallerPaths({ root, cwd: root, mountNs: '/proc/self/ns/mnt' });
      const netns = paths.local('/var/run/netns/pod');
      const data = paths.local('/data');
      expect(paths.reported(`cannot enter network namespace ${netns}: Invalid argument`)).toBe(
        'cannot enter network namespace /var/run/netns/pod: Invalid argument',
      );
      // below a path of the request, and anywhere else under the caller's root
      expect(paths.reported(`EACCES: permission denied, open '${data}/net1/lock'`)).toBe(
        "EACCES: permission denied, open '/data/net1/lock'",
      );
      expect(paths.reported(`open ${root}/etc/x; ${root}9/y`)).toBe(`open /etc/x; ${root}9/y`);
      expect(paths.reported('nothing to change')).toBe('nothing to change');
    } finally {
      closeSync(Number(root.split('/').pop()));
    }
  });

  it("costs nothing for a caller with this process's root and mount namespace, but for relative paths", () => {
    const paths = new CallerPaths({ cwd: '/proc/self/fd/7' });
    expect(paths.local('/var/run/netns/pod')).toBe('/var/run/netns/pod');
    expect(paths.local('data')).toBe('/proc/self/fd/7/data');
    expect(paths.reported("open '/proc/self/fd/7/data/x'")).toBe("open 'data/x'");
    expect(OWN_PATHS.local('data')).toBe('data');
    expect(OWN_PATHS.caller).toBeUndefined();
  });
});
