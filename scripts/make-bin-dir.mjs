// Writes dist/cni/: one executable per plugin we provide, usable as a CNI_PATH entry.
// Each is a copy of the native launcher (agent if one answers, else Node on the plugin entry);
// its marker lets delegation recognise our own plugins. Its .fastcni.json names Node and the entry
// relative to dist/cni/ (node from PATH), so the directory works wherever the package is installed.
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'dist', 'cni');
// The bundled entry (scripts/build-entry.mjs, part of `npm run build`); `node dist/src/cli/plugin-entry.js
// <type>` works too, only slower to start.
if (!existsSync(join(root, 'dist', 'entry', 'plugin-entry.cjs'))) throw new Error('dist/entry/plugin-entry.cjs missing: run npm run build');
const { install } = await import(join(root, 'dist', 'src', 'agent', 'install.js'));
const { installed } = await install({ binDir: out, node: 'node', entry: '../entry/plugin-entry.cjs', force: true });
console.log(`dist/cni: ${installed.map((p) => p.slice(out.length + 1)).join(' ')}`);
