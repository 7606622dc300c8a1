// The import graph of src/ and plugins/: no cycles, and every import points down the layers below,
// so that the plugins build on the library and only the entry points know the plugins.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/run-plugin.js';

/**
 * Units from the bottom up: a file may import its own unit and units of a lower rank only. Each
 * plugin folder is a unit of its own, so plugins do not import one another either.
 */
const RANKS: ReadonlyArray<[unit: RegExp, rank: number]> = [
  [/^src\/net\//, 0],
  [/^src\/package-root\.ts$/, 0],
  // the addon's generated declarations (native/addon/index.d.ts), imported for their types
  [/^native\/addon\/index\.ts$/, 0],
  [/^src\/spec\//, 1],
  [/^src\/phases\.ts$/, 1],
  // test-only fault injection: its points and the check at each (native calls, skeleton, IPAM, plugins)
  [/^src\/faults\.ts$/, 1],
  [/^src\/native\.ts$/, 2],
  [/^src\/skel\//, 2],
  [/^src\/runtime\//, 3],
  [/^src\/ipam\//, 4],
  // what the macvlan, ipvlan and vlan plugins share: their link's ADD, DEL and CHECK (IPAM delegation included)
  [/^src\/sublink\//, 4.5],
  // the dhcp daemon and its wire protocol, shared by the dhcp plugin and the CLI
  [/^src\/dhcp\//, 4],
  // the reference plugins' objects of a pod, removed by bridge, ptp and portmap, and handed back by the CLI
  [/^src\/migration\//, 4],
  [/^plugins\/[^/]+\//, 5],
  // the registry of our plugins, handed down by the entry points as a PluginLoader
  [/^src\/plugins\.ts$/, 6],
  // the cluster controller of the agent: node leases in etcd, the overlay backend, subnet.env
  [/^src\/cluster\//, 6.5],
  [/^src\/agent\//, 7],
  [/^src\/cli\//, 8],
  [/^src\/index\.ts$/, 9],
];

/** Files of src/ that may import plugins/ directly: the registry and the library's index. */
const IMPORT_PLUGINS = new Set(['src/plugins.ts', 'src/index.ts']);

function sources(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts') && !e.name.endsWith('.d.ts'))
    .map((e) => relative(ROOT, join(e.parentPath, e.name)));
}

/** Every relative import of each file (static, dynamic, type-only, re-exports), as repository paths. */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of [...sources('src'), ...sources('plugins')]) {
    const { importedFiles } = ts.preProcessFile(readFileSync(join(ROOT, file), 'utf8'), true, true);
    const deps = importedFiles
      .map((i) => i.fileName)
      .filter((name) => name.startsWith('.'))
      .map((name) => relative(ROOT, resolve(ROOT, dirname(file), name.replace(/\.js$/, '.ts'))));
    graph.set(file, deps);
  }
  return graph;
}

function unitOf(file: string): { unit: string; rank: number } {
  for (const [re, rank] of RANKS) {
    const m = re.exec(file);
    if (m) return { unit: m[0], rank };
  }
  throw new Error(`${file} belongs to no layer: add it to RANKS`);
}

/** One cycle through `start` found by depth-first search, or undefined. */
function cycleFrom(graph: Map<string, string[]>, start: string): string[] | undefined {
  const stack: string[] = [];
  const seen = new Set<string>();
  const visit = (f: string): string[] | undefined => {
    if (f === start && stack.length > 0) return [...stack, f];
    if (seen.has(f)) return undefined;
    seen.add(f);
    stack.push(f);
    for (const d of graph.get(f) ?? []) {
      const c = visit(d);
      if (c) return c;
    }
    stack.pop();
    return undefined;
  };
  return visit(start);
}

function cycles(graph: Map<string, string[]>): string[] {
  return [...graph.keys()].flatMap((f) => cycleFrom(graph, f)?.join(' → ') ?? []);
}

/** Imports that point sideways or up, and imports of plugins/ from src/ outside IMPORT_PLUGINS. */
function wrongImports(graph: Map<string, string[]>): string[] {
  const wrong: string[] = [];
  for (const [file, deps] of graph) {
    const from = unitOf(file);
    for (const dep of deps) {
      const to = unitOf(dep);
      const up = to.unit !== from.unit && to.rank >= from.rank;
      const toPlugins = file.startsWith('src/') && dep.startsWith('plugins/') && !IMPORT_PLUGINS.has(file);
      if (up || toPlugins) wrong.push(`${file} → ${dep}`);
    }
  }
  return wrong;
}

describe('layers', () => {
  const graph = importGraph();

  it('reads the whole tree', () => {
    expect(graph.size).toBeGreaterThan(50);
    expect(graph.get('src/cli/commands.ts')).toContain('src/runtime/plugin-lookup.ts');
  });

  it('has no import cycle', () => {
    expect(cycles(graph)).toEqual([]);
  });

  it('imports only down the layers', () => {
    expect(wrongImports(graph)).toEqual([]);
  });

  it('finds what it is there to find', () => {
    // as the tree was: spec took Result from skel, ipam and the runtime loaded the plugins
    const old = new Map(graph);
    old.set('src/spec/result-convert.ts', ['src/skel/types.ts']);
    old.set('src/ipam/delegate.ts', ['src/plugins.ts']);
    old.set('src/cli/commands.ts', ['plugins/bridge/index.ts']);
    expect(wrongImports(old).sort()).toEqual([
      'src/cli/commands.ts → plugins/bridge/index.ts',
      'src/ipam/delegate.ts → src/plugins.ts',
      'src/spec/result-convert.ts → src/skel/types.ts',
    ]);
    expect(cycleFrom(old, 'src/ipam/delegate.ts')?.slice(0, 2)).toEqual(['src/ipam/delegate.ts', 'src/plugins.ts']);
  });
});
