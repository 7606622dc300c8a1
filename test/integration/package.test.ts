// The package as a user gets it: `npm pack`, installed into an empty directory, its entry points
// imported (and type-checked) there, and the README's library program run from it; then installed
// again with the addon and launcher built from the shipped Rust sources.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/fixtures.js';
import { ipJson, leftoverNamespaces, RUN_PREFIX, removeNetns } from '../helpers/netns.js';

const ROOT = resolve(import.meta.dirname, '../..');

function run(cmd: string, args: string[], cwd: string, env: Record<string, string> = {}): string {
  return execFileSync(cmd, args, { cwd, encoding: 'utf8', env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
}

/** A new project directory with the tarball installed into it. */
function installInto(tarball: string, label: string, o: { manifest?: object; env?: Record<string, string> } = {}): string {
  const app = tempDir(label);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: `fastcni-${label}`, private: true, type: 'module', ...o.manifest }));
  run('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', '--foreground-scripts', tarball], app, o.env);
  return app;
}

/** The README's library program, with namespace names of this test run. */
function readmeProgram(names: { node: string; pod: string }): string {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Using fastcni as a library'));
  const code = /```js\n([\s\S]*?)```/.exec(section)?.[1];
  if (!code) throw new Error('README.md has no js block under "Using fastcni as a library"');
  return code.replaceAll("'demo-node'", `'${names.node}'`).replaceAll("'demo-pod'", `'${names.pod}'`);
}

let packDir: string;
let tarball: string;

beforeAll(() => {
  packDir = mkdtempSync(join(tmpdir(), 'fcni-t-pack-'));
  const name = run('npm', ['pack', '--ignore-scripts', '--silent', '--pack-destination', packDir], ROOT).trim().split('\n').pop()!;
  tarball = join(packDir, name);
});
afterAll(() => rmSync(packDir, { recursive: true, force: true }));

describe('the packed package', () => {
  const names = { node: `${RUN_PREFIX}pkg-node`, pod: `${RUN_PREFIX}pkg-pod` };
  afterAll(() => {
    removeNetns(names.pod);
    removeNetns(names.node);
  });

  it('holds the built files and the sources to rebuild them, and nothing of the repository besides', () => {
    const listing = run('tar', ['-tzf', tarball], ROOT).split('\n');
    for (const f of [
      'package/dist/src/index.js',
      'package/dist/src/runtime/index.d.ts',
      'package/dist/cni/bridge',
      'package/dist/cni/.fastcni.json',
      'package/dist/bin/fastcni-launcher',
      'package/native/addon/index.node',
      'package/native/addon/index.d.ts',
      'package/native/core/src/lib.rs',
      'package/Cargo.lock',
      'package/scripts/build-native.mjs',
    ]) {
      expect(listing).toContain(f);
    }
    expect(listing.filter((f) => /^package\/(test|benchmarks|src|plugins|target|\.cache)\//.test(f))).toEqual([]);
  });

  it('installs into an empty directory; its entry points import and type-check; the README program attaches a pod', () => {
    const app = installInto(tarball, 'pkg-app');
    const pkg = join(app, 'node_modules', 'fastcni');
    // every documented entry point, imported from a plain project
    writeFileSync(
      join(app, 'imports.mjs'),
      [
        "import { bridge, definePlugin, pluginDir } from 'fastcni';",
        "import { CniRuntime } from 'fastcni/runtime';",
        "import { CniError, ErrorCode } from 'fastcni/spec';",
        "import { nativeVersion } from 'fastcni/native';",
        'console.log(JSON.stringify({ bridge: bridge.name, define: typeof definePlugin, pluginDir, runtime: typeof CniRuntime,',
        '  code: new CniError(ErrorCode.InvalidNetworkConfig, "x").code, native: nativeVersion() }));',
      ].join('\n'),
    );
    const imported = JSON.parse(run('node', ['imports.mjs'], app));
    expect(imported).toEqual({
      bridge: 'bridge',
      define: 'function',
      pluginDir: join(pkg, 'dist', 'cni'),
      runtime: 'function',
      code: 7,
      native: expect.stringMatching(/^\d+\.\d+\.\d+/),
    });
    // the declarations resolve from a TypeScript project, the generated native ones included
    writeFileSync(
      join(app, 'types.ts'),
      [
        "import type { NetConf } from 'fastcni/spec';",
        "import type { LinkInfo } from 'fastcni/native';",
        "import { CniRuntime } from 'fastcni/runtime';",
        'export const conf: NetConf = { cniVersion: "1.1.0", name: "n", type: "bridge" };',
        'export const up = (l: LinkInfo): boolean => l.up;',
        'export const rt = new CniRuntime({ pluginPath: [] });',
      ].join('\n'),
    );
    writeFileSync(
      join(app, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          strict: true,
          noEmit: true,
          // a TypeScript user of fastcni has @types/node; this project borrows the repository's
          types: ['node'],
          typeRoots: [join(ROOT, 'node_modules', '@types')],
        },
      }),
    );
    run(join(ROOT, 'node_modules', '.bin', 'tsc'), ['-p', 'tsconfig.json'], app);

    // the README program, run as written but for the namespace names
    writeFileSync(join(app, 'readme.mjs'), readmeProgram(names));
    const printed = JSON.parse(run('node', ['readme.mjs'], app)) as { cniVersion: string; ips: Array<{ address: string }> };
    expect(printed.cniVersion).toBe('1.1.0');
    expect(printed.ips.map((i) => i.address)).toEqual([expect.stringMatching(/^10\.250\.0\.\d+\/24$/)]);
    // it removed what it made
    expect(leftoverNamespaces().filter((n) => n.startsWith(`${RUN_PREFIX}pkg-`))).toEqual([]);
    // and its bridge was made in the namespace that played the node, not in the machine's own
    expect(ipJson<Array<{ ifname: string }>>('link').map((l) => l.ifname)).not.toContain('demo0');
  });

  it('builds the addon and launcher from source when asked to, and they work', { timeout: 15 * 60_000 }, () => {
    const started = Date.now();
    const app = installInto(tarball, 'pkg-src', {
      // npm runs a dependency's install script only when the project allows it
      manifest: { allowScripts: { fastcni: true } },
      env: {
        FASTCNI_BUILD_FROM_SOURCE: '1',
        // dependencies compiled for the repository's own build are reused; the package's crates are built anew
        CARGO_TARGET_DIR: join(ROOT, 'target'),
      },
    });
    const pkg = join(app, 'node_modules', 'fastcni');
    // the files came from this build, not from the tarball (npm packs every file with a 1985 date)
    for (const f of ['native/addon/index.node', 'dist/bin/fastcni-launcher', 'dist/cni/bridge']) {
      expect(statSync(join(pkg, f)).mtimeMs).toBeGreaterThanOrEqual(started - 1000);
    }
    expect(readdirSync(join(pkg, 'dist', 'cni')).sort()).toEqual(readdirSync(join(ROOT, 'dist', 'cni')).sort());
    const netns = `${RUN_PREFIX}pkg-src`;
    writeFileSync(
      join(app, 'netns.mjs'),
      `import { netnsCreate, netnsDelete, linkList } from 'fastcni/native';\n` +
        `const p = await netnsCreate('${netns}');\n` +
        `console.log(JSON.stringify((await linkList(p)).map((l) => l.name)));\n` +
        `await netnsDelete('${netns}');\n`,
    );
    try {
      expect(JSON.parse(run('node', ['netns.mjs'], app))).toEqual(['lo']);
    } finally {
      removeNetns(netns);
    }
    // the rebuilt launcher answers VERSION through Node, from where the package is installed
    const version = run(join(pkg, 'dist', 'cni', 'loopback'), [], app, {
      CNI_COMMAND: 'VERSION',
      FASTCNI_SOCKET: join(app, 'no-agent.sock'),
    });
    expect(JSON.parse(version).supportedVersions).toContain('1.1.0');
  });
});
