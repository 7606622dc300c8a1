// Config loading as libcni's LoadNetworkConf, against real temp directories.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { listNetworks, loadNetworkList } from '../../src/runtime/conf-load.js';
import { parseNetworkList } from '../../src/runtime/conf-parse.js';
import { tempDir } from '../helpers/fixtures.js';
import { rejection } from '../helpers/runtime-fakes.js';

function put(dir: string, name: string, content: unknown): void {
  writeFileSync(join(dir, name), typeof content === 'string' ? content : JSON.stringify(content));
}
const list = (name: string, type = 'bridge', extra: Record<string, unknown> = {}) => ({
  cniVersion: '1.0.0',
  name,
  plugins: [{ type }],
  ...extra,
});

describe('loadNetworkList', () => {
  it('prefers .conflist over .conf, lexical order, first name match', async () => {
    const dir = tempDir('conf');
    put(dir, '10-single.conf', { cniVersion: '0.4.0', name: 'net', type: 'single' });
    put(dir, '20-b.conflist', list('net', 'second'));
    put(dir, '05-a.conflist', list('net', 'first'));
    const l = await loadNetworkList(dir, 'net');
    expect(l.plugins.map((p) => p.type)).toEqual(['first']);
    expect(l.source).toBe(join(dir, '05-a.conflist'));
  });

  it('up-converts a .conf/.json into a one-plugin list with the bytes libcni marshals', async () => {
    const dir = tempDir('conf');
    put(dir, '10-x.json', { type: 'bridge', name: 'single', cniVersion: '0.3.1', zz: 1, aa: '<' });
    const l = await loadNetworkList(dir, 'single');
    expect(l.cniVersion).toBe('0.3.1');
    expect(l.plugins).toEqual([{ type: 'bridge', name: 'single', cniVersion: '0.3.1', zz: 1, aa: '<' }]);
    expect(l.bytes.toString()).toBe(
      '{"cniVersion":"0.3.1","name":"single","plugins":[{"aa":"\\u003c","cniVersion":"0.3.1","name":"single","type":"bridge","zz":1}]}',
    );
  });

  it('appends <dir>/<network>/*.conf plugins unless loadOnlyInlinedPlugins', async () => {
    const dir = tempDir('conf');
    put(dir, '10.conflist', list('net'));
    put(dir, '20.conflist', list('inl', 'bridge', { loadOnlyInlinedPlugins: 'TRUE' }));
    mkdirSync(join(dir, 'net'));
    mkdirSync(join(dir, 'inl'));
    put(join(dir, 'net'), 'b.conf', { type: 'tuning' });
    put(join(dir, 'net'), 'a.conf', { type: 'portmap', capabilities: { portMappings: true } });
    put(join(dir, 'net'), 'ignored.json', { type: 'nope' });
    put(join(dir, 'inl'), 'a.conf', { type: 'portmap' });
    expect((await loadNetworkList(dir, 'net')).plugins.map((p) => p.type)).toEqual(['bridge', 'portmap', 'tuning']);
    const inl = await loadNetworkList(dir, 'inl');
    expect(inl.loadOnlyInlinedPlugins).toBe(true);
    expect(inl.plugins.map((p) => p.type)).toEqual(['bridge']);
  });

  it('a list with no plugins of its own takes them from the sibling dir, or fails "no plugin configs found"', async () => {
    const dir = tempDir('conf');
    put(dir, '10.conflist', { cniVersion: '1.0.0', name: 'empty' });
    put(dir, '20.conflist', { cniVersion: '1.0.0', name: 'fromdir' });
    mkdirSync(join(dir, 'fromdir'));
    put(join(dir, 'fromdir'), 'x.conf', { type: 'loopback' });
    expect((await loadNetworkList(dir, 'fromdir')).plugins.map((p) => p.type)).toEqual(['loopback']);
    const err = await rejection(loadNetworkList(dir, 'empty'));
    expect(err.message).toBe(`no net configuration with name "empty" in ${dir}`);
    expect(err.details).toContain('no plugin configs found');
  });

  it('a malformed file beside a good one is reported, not fatal', async () => {
    const dir = tempDir('conf');
    put(dir, '01-broken.conflist', '{"name": "broken", ');
    put(dir, '02-bad-bool.conflist', list('badbool', 'bridge', { disableCheck: 'yes' }));
    put(dir, '10-good.conflist', list('good'));
    const seen: string[] = [];
    const l = await loadNetworkList(dir, 'good', { onFileError: (e) => seen.push(e.file) });
    expect(l.name).toBe('good');
    expect(seen).toEqual([join(dir, '01-broken.conflist'), join(dir, '02-bad-bool.conflist')]);
    const listing = await listNetworks(dir);
    expect(listing.networks.map((n) => n.name)).toEqual(['good']);
    expect(listing.errors.map((e) => e.error.message)).toEqual([
      expect.stringMatching(/^error parsing configuration list: .*JSON/),
      'error parsing configuration list: invalid value "yes" for disableCheck',
    ]);
  });

  it('libcni error texts for an empty dir, a missing dir and an unknown name', async () => {
    const dir = tempDir('conf');
    expect((await rejection(loadNetworkList(dir, 'x'))).message).toBe(`no net configurations found in ${dir}`);
    expect((await rejection(loadNetworkList(join(dir, 'missing'), 'x'))).message).toBe(
      `no net configurations found in ${join(dir, 'missing')}`,
    );
    put(dir, '10.conflist', list('a'));
    const err = await rejection(loadNetworkList(dir, 'x'));
    expect([err.code, err.message]).toEqual([7, `no net configuration with name "x" in ${dir}`]);
  });

  it('listNetworks: first file per name wins, .conf after .conflist', async () => {
    const dir = tempDir('conf');
    put(dir, '50.conf', { cniVersion: '0.4.0', name: 'a', type: 'loser' });
    put(dir, '60.conf', { cniVersion: '0.4.0', name: 'c', type: 'bridge' });
    put(dir, '20.conflist', list('b'));
    put(dir, '10.conflist', list('a'));
    const { networks, errors } = await listNetworks(dir);
    expect(networks.map((n) => [n.name, n.plugins[0]!.type])).toEqual([
      ['a', 'bridge'],
      ['b', 'bridge'],
      ['c', 'bridge'],
    ]);
    expect(errors).toEqual([]);
  });
});

describe('parseNetworkList', () => {
  const parse = (o: unknown) => parseNetworkList(Buffer.from(JSON.stringify(o)));
  it('string booleans in any case; anything else is an error', () => {
    const l = parse(list('n', 'bridge', { disableCheck: 'True', disableGC: 'FALSE', loadOnlyInlinedPlugins: true }));
    expect([l.disableCheck, l.disableGC, l.loadOnlyInlinedPlugins]).toEqual([true, false, true]);
    expect(() => parse(list('n', 'bridge', { disableGC: 1 }))).toThrow(
      'error parsing configuration list: invalid type float64 for disableGC',
    );
  });

  it('cniVersions: highest not newer than 1.1.0, cniVersion joining the candidates', () => {
    expect(parse({ name: 'n', cniVersion: '0.4.0', cniVersions: ['1.0.0', '1.1.0', '2.0.0'], plugins: [{ type: 'x' }] }).cniVersion).toBe(
      '1.1.0',
    );
    expect(parse({ name: 'n', cniVersion: '1.0.0', cniVersions: ['0.3.1'], plugins: [{ type: 'x' }] }).cniVersion).toBe('1.0.0');
    expect(parse({ name: 'n', cniVersion: '3.0.0', cniVersions: ['9.0.0'], plugins: [{ type: 'x' }] }).cniVersion).toBe('3.0.0');
    expect(parse({ name: 'n', cniVersion: '3.0.0', cniVersions: ['0.4.0'], plugins: [{ type: 'x' }] }).cniVersion).toBe('0.4.0');
    expect(() => parse({ name: 'n', cniVersions: ['1.x'], plugins: [{ type: 'x' }] })).toThrow(/invalid cniVersions entry 1.x at index 0/);
  });

  it('plugins must be a non-empty list of objects with a type; the name is required', () => {
    expect(() => parse({ name: 'n', plugins: [] })).toThrow('error parsing configuration list: no plugins in list');
    expect(() => parse({ name: 'n', plugins: [{ ipam: {} }] })).toThrow(
      "failed to parse plugin config 0: error parsing configuration: missing 'type'",
    );
    expect(() => parse({ cniVersion: '1.0.0', plugins: [{ type: 'x' }] })).toThrow('error parsing configuration list: no name');
    expect(() => parse({ name: 'n', loadOnlyInlinedPlugins: true })).toThrow("`loadOnlyInlinedPlugins` is true, and no 'plugins' key");
  });
});
