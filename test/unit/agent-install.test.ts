// fastcni install: launchers under each plugin name with the marker, .fastcni.json, the foreign-file
// guard and --force, the example conflist and the systemd unit.
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { install } from '../../src/agent/install.js';
import { isOurPlugin } from '../../src/runtime/plugin-lookup.js';
import { tempDir } from '../helpers/fixtures.js';

describe('install', () => {
  it('installs the launcher under each plugin name with its config, conflist and unit', async () => {
    const binDir = join(tempDir('bin'), 'cni');
    const confDir = tempDir('conf');
    const r = await install({
      binDir,
      confDir,
      socketPath: '/run/x/agent.sock',
      node: '/usr/bin/node',
      entry: '/opt/fastcni/dist/src/cli/plugin-entry.js',
    });
    expect(r.installed.map((p) => p.slice(binDir.length + 1)).sort()).toEqual(['bridge', 'host-local', 'loopback', 'portmap']);
    for (const p of r.installed) {
      expect(await isOurPlugin(p)).toBe(true);
      expect(statSync(p).mode & 0o777).toBe(0o755);
    }
    expect(JSON.parse(readFileSync(join(binDir, '.fastcni.json'), 'utf8'))).toEqual({
      node: '/usr/bin/node',
      entry: '/opt/fastcni/dist/src/cli/plugin-entry.js',
      socket: '/run/x/agent.sock',
    });
    expect(JSON.parse(readFileSync(r.conflist!, 'utf8'))).toMatchObject({
      cniVersion: '1.0.0',
      plugins: [{ type: 'bridge', ipam: { type: 'host-local' } }],
    });
    expect(r.unit).toContain('ExecStart=/usr/bin/node /opt/fastcni/dist/src/cli/fastcni.js agent --socket /run/x/agent.sock');
    expect(r.unit).toMatch(/\[Install\]\nWantedBy=multi-user.target/);
    // running it again over our own files is fine
    await install({ binDir });
  });

  it('never replaces a foreign binary without force', async () => {
    const binDir = tempDir('bin');
    writeFileSync(join(binDir, 'bridge'), '#!/bin/sh\necho reference\n', { mode: 0o755 });
    await expect(install({ binDir })).rejects.toThrow(/not replacing .*: bridge \(use --force\)/);
    expect(readFileSync(join(binDir, 'bridge'), 'utf8')).toContain('reference');
    await install({ binDir, force: true });
    expect(await isOurPlugin(join(binDir, 'bridge'))).toBe(true);
  });
});
