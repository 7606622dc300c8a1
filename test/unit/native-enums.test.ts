// src/native.ts's string enums are the addon's own enum objects, read on first use: importing the
// file loads no addon, and each enum then behaves as the object the addon exports.
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FailureKind, LinkKind, ReadEnd } from '../../src/native.js';

const addon = createRequire(import.meta.url)(join(process.cwd(), 'native', 'addon', 'index.node')) as Record<string, object>;

describe('native enums', () => {
  it('are the addon’s enum objects, member for member', () => {
    for (const [name, e] of Object.entries({ FailureKind, LinkKind, ReadEnd })) {
      expect(Object.keys(e), name).toEqual(Object.keys(addon[name]!));
      expect({ ...e }, name).toEqual({ ...addon[name] });
    }
    expect('NotFound' in FailureKind && !('notFound' in FailureKind)).toBe(true);
    expect([FailureKind.NetnsGone, LinkKind.Bridge, ReadEnd.Complete]).toEqual(['netnsGone', 'bridge', 'complete']);
  });

  it('load nothing until one is used', () => {
    // a missing addon is only an error once a member is read
    const script = `
      const native = await import(${JSON.stringify(join(process.cwd(), 'dist', 'src', 'native.js'))});
      let read;
      try { read = native.FailureKind.NotFound; } catch (e) { read = e.message; }
      process.stdout.write(JSON.stringify({ imported: typeof native.FailureKind, read }));
    `;
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
      encoding: 'utf8',
      env: { ...process.env, FASTCNI_ADDON: '/nonexistent/fastcni-addon.node' },
    });
    expect(JSON.parse(out)).toEqual({ imported: 'object', read: expect.stringContaining('/nonexistent/fastcni-addon.node') });
  });
});
