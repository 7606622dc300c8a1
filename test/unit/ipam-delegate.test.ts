// IPAM delegation: libcni's lookup in CNI_PATH, in-process runs of our own plugin files, exec of
// anything else, and how delegate output becomes a result or a CniError.
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/fixtures.js';
import { hlConf } from '../helpers/host-local.js';
import { ipamAdd, ipamCheck, ipamDel, type DelegateContext } from '../../src/ipam/delegate.js';
import { findInPath, isOurPlugin, PLUGIN_MARKER } from '../../src/runtime/plugin-lookup.js';
import { loadPlugin } from '../../src/plugins.js';
import { OWN_PATHS } from '../../src/skel/caller-paths.js';
import { CniError } from '../../src/spec/errors.js';
import { toCurrentResult } from '../../src/spec/result-convert.js';

function ctxFor(path: string[], conf: unknown, env: Record<string, string> = {}): DelegateContext & { logs: string[] } {
  const logs: string[] = [];
  return {
    env: {
      CNI_COMMAND: 'ADD',
      CNI_CONTAINERID: 'c1',
      CNI_IFNAME: 'eth0',
      CNI_NETNS: '/run/netns/fcni-t-absent',
      CNI_PATH: path.join(':'),
      PATH: process.env.PATH,
      ...env,
    },
    stdin: new TextEncoder().encode(JSON.stringify(conf)),
    path,
    paths: OWN_PATHS,
    cniVersion: (conf as { cniVersion: string }).cniVersion,
    loadPlugin,
    log: (l) => logs.push(l),
    logs,
  };
}

function script(dir: string, name: string, body: string): string {
  const p = join(dir, name);
  writeFileSync(p, `#!/bin/sh\n${body}\n`);
  chmodSync(p, 0o755);
  return p;
}

async function rejection(p: Promise<unknown>): Promise<CniError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof CniError) return e;
    throw e;
  }
  throw new Error('did not fail');
}

describe('findInPath', () => {
  it('takes the first regular file, skipping directories and missing entries', async () => {
    const a = tempDir('dlg');
    const b = tempDir('dlg');
    mkdirSync(join(a, 'ipam-x'));
    writeFileSync(join(b, 'ipam-x'), '');
    expect(await findInPath('ipam-x', ['/nonexistent', a, b])).toBe(join(b, 'ipam-x'));
  });

  it('words its errors as libcni', async () => {
    expect((await rejection(findInPath('nope', ['/a', '/b']))).message).toBe('failed to find plugin "nope" in path [/a /b]');
    expect((await rejection(findInPath('nope', []))).message).toBe('no paths provided');
    expect((await rejection(findInPath('a/b', ['/a']))).message).toBe('invalid plugin name: a/b');
  });
});

describe('exec delegation', () => {
  it('passes env and stdin, converts an old-version result to the newest form, forwards stderr', async () => {
    const dir = tempDir('dlg');
    script(
      dir,
      'fake',
      `cat > "$0.stdin"; echo "cmd=$CNI_COMMAND id=$CNI_CONTAINERID" >&2
echo '{"cniVersion":"0.4.0","ips":[{"version":"4","address":"10.5.0.9/24","gateway":"10.5.0.1"}],"dns":{}}'`,
    );
    const ctx = ctxFor([dir], { cniVersion: '0.4.0', name: 'n', type: 'bridge', ipam: { type: 'fake' } }, { CNI_COMMAND: 'DEL' });
    const r = await ipamAdd('fake', ctx);
    expect(r.ips).toEqual([{ address: '10.5.0.9/24', gateway: '10.5.0.1' }]);
    expect(ctx.logs).toEqual(['cmd=ADD id=c1']);
  });

  it('turns the delegate error JSON into a CniError with its code, msg and details', async () => {
    const dir = tempDir('dlg');
    script(dir, 'fake', `echo '{"code": 11, "msg": "busy", "details": "try later"}'; exit 1`);
    const e = await rejection(ipamDel('fake', ctxFor([dir], { cniVersion: '1.0.0', name: 'n' })));
    expect([e.code, e.message, e.details]).toEqual([11, 'busy', 'try later']);
  });

  it('names the plugin when its output is not JSON or empty', async () => {
    const dir = tempDir('dlg');
    script(dir, 'garbled', `echo 'panic: oops'; exit 2`);
    script(dir, 'silent', `echo 'went wrong' >&2; exit 1`);
    script(dir, 'nothing', `exit 0`);
    const conf = { cniVersion: '1.0.0', name: 'n' };
    expect((await rejection(ipamCheck('garbled', ctxFor([dir], conf)))).message).toBe(
      'plugin "garbled" failed but error parsing its diagnostic message "panic: oops"',
    );
    expect((await rejection(ipamCheck('silent', ctxFor([dir], conf)))).message).toBe('plugin "silent" failed: "went wrong"');
    expect((await rejection(ipamAdd('nothing', ctxFor([dir], conf)))).message).toBe('IPAM plugin "nothing" returned no result');
  });

  it('execs the reference host-local found in CNI_PATH', async () => {
    const dataDir = tempDir('dlg');
    const conf = hlConf({ dataDir, cniVersion: '0.3.1', ranges: [[{ subnet: '10.6.0.0/24' }]] });
    const r = await ipamAdd('host-local', ctxFor(['/usr/lib/cni'], conf));
    expect(r.ips).toEqual([{ address: '10.6.0.2/24', gateway: '10.6.0.1' }]);
    await ipamDel('host-local', ctxFor(['/usr/lib/cni'], conf));
  });
});

describe('in-process delegation', () => {
  it('runs our host-local in-process when the file found carries the marker', async () => {
    const bin = tempDir('dlg');
    // Not executable and not a program: exec would fail, so success proves the in-process path.
    writeFileSync(join(bin, 'host-local'), `launcher ${PLUGIN_MARKER} host-local\n`);
    expect(await isOurPlugin(join(bin, 'host-local'))).toBe(true);
    expect(await isOurPlugin('/usr/lib/cni/host-local')).toBe(false);
    const dataDir = tempDir('dlg');
    const conf = hlConf({ dataDir, cniVersion: '1.0.0', ranges: [[{ subnet: '10.7.0.0/24' }]] });
    const r = await ipamAdd('host-local', ctxFor([bin, '/usr/lib/cni'], conf));
    expect(r.ips).toEqual([{ address: '10.7.0.2/24', gateway: '10.7.0.1' }]);
    const dup = await rejection(ipamAdd('host-local', ctxFor([bin], conf)));
    expect([dup.code, dup.message]).toEqual([
      999,
      'failed to allocate for range 0: 10.7.0.2 has been allocated to c1, duplicate allocation is not allowed',
    ]);
    await ipamCheck('host-local', ctxFor([bin], conf));
    await ipamDel('host-local', ctxFor([bin], conf));
    expect((await rejection(ipamCheck('host-local', ctxFor([bin], conf)))).message).toBe(
      'host-local: Failed to find address added by container c1',
    );
  });

  it('execs even our own file when the context hands down no plugin table', async () => {
    const bin = tempDir('dlg');
    writeFileSync(join(bin, 'host-local'), `launcher ${PLUGIN_MARKER} host-local\n`);
    const conf = hlConf({ dataDir: tempDir('dlg'), cniVersion: '1.0.0', ranges: [[{ subnet: '10.7.0.0/24' }]] });
    const { loadPlugin: _none, ...ctx } = ctxFor([bin], conf);
    // the file is no program: exec fails where the in-process run above succeeded
    expect((await rejection(ipamAdd('host-local', ctx))).message).toMatch(/^failed to run plugin .*host-local/);
  });

  it.each(['0.1.0', '0.2.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'])(
    'gives at %s the result and errors that printing and re-reading our output would give',
    async (cniVersion) => {
      const bin = tempDir('dlg');
      writeFileSync(join(bin, 'host-local'), `launcher ${PLUGIN_MARKER} host-local\n`);
      const dataDir = tempDir('dlg');
      const resolv = join(dataDir, 'resolv.conf');
      writeFileSync(resolv, 'nameserver 10.0.0.53\nsearch a.example b.example\noptions ndots:2\n');
      const ranges = [[{ subnet: '10.8.0.0/24', gateway: '10.8.0.254' }]];
      const conf = hlConf({
        dataDir,
        cniVersion,
        ranges,
        ipam: { routes: [{ dst: '0.0.0.0/0' }, { dst: '10.1.0.0/16', gw: '10.8.0.9' }], resolvConf: resolv },
      });
      const { hostLocal } = await import('../../plugins/host-local/index.js');
      const printed = await hostLocal.invoke({
        env: { ...ctxFor([bin], conf).env, CNI_CONTAINERID: 'printed' },
        stdin: JSON.stringify(conf),
      });
      expect(printed.exitCode).toBe(0);
      const fromText = toCurrentResult(JSON.parse(printed.stdout), JSON.parse(printed.stdout).cniVersion || cniVersion);
      const direct = await ipamAdd('host-local', ctxFor([bin], conf));
      expect(direct).toEqual({ ...fromText, ips: direct.ips });
      expect(direct.ips?.map((i) => i.gateway)).toEqual(fromText.ips?.map((i) => i.gateway));
      // An error: the same code, message and details as the printed error.
      const bad = { ...conf, ipam: { ...(conf.ipam as object), ranges: [[{ subnet: '10.8.0.0/33' }]] } };
      const printedErr = JSON.parse((await hostLocal.invoke({ env: ctxFor([bin], bad).env, stdin: JSON.stringify(bad) })).stdout);
      const directErr = await rejection(ipamAdd('host-local', ctxFor([bin], bad)));
      expect({ code: directErr.code, msg: directErr.message, ...(directErr.details ? { details: directErr.details } : {}) }).toEqual(
        printedErr,
      );
    },
  );

  it('notices a plugin file rewritten in place (the marker answer is not stale)', async () => {
    const bin = tempDir('dlg');
    const p = join(bin, 'host-local');
    writeFileSync(p, `launcher ${PLUGIN_MARKER} host-local\n`);
    expect(await isOurPlugin(p)).toBe(true);
    expect(await findInPath('host-local', [bin])).toBe(p);
    writeFileSync(p, `launcher ${'x'.repeat(PLUGIN_MARKER.length)} host-local\n`);
    expect(await findInPath('host-local', [bin])).toBe(p);
    expect(await isOurPlugin(p)).toBe(false);
  });
});

describe('findInPath with odd entries', () => {
  it('skips a CNI_PATH entry that is a file, as libcni does', async () => {
    const a = tempDir('dlg');
    const notDir = join(a, 'plain-file');
    writeFileSync(notDir, 'x');
    const b = tempDir('dlg');
    writeFileSync(join(b, 'ipam-y'), 'y');
    expect(await findInPath('ipam-y', [notDir, b])).toBe(join(b, 'ipam-y'));
  });
});
