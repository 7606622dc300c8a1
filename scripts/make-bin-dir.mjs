// Writes dist/cni/: one executable per plugin we provide, usable as a CNI_PATH entry.
// Each is a copy of the native launcher (agent if one answers, else Node on the plugin entry);
// its marker lets delegation recognise our own plugins.
import { mkdirSync, readdirSync, existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'dist', 'cni');
// The bundled entry (scripts/build-entry.mjs, part of `npm run build`); `node dist/src/cli/plugin-entry.js
// <type>` works too, only slower to start.
const entry = join(root, 'dist', 'entry', 'plugin-entry.cjs');
if (!existsSync(entry)) throw new Error(`${entry} missing: run npm run build`);
mkdirSync(out, { recursive: true });
const plugins = readdirSync(join(root, 'plugins'), { withFileTypes: true })
  .filter((d) => d.isDirectory() && existsSync(join(root, 'plugins', d.name, 'index.ts')))
  .map((d) => d.name);
// The native launcher under each plugin name, plus the .fastcni.json it falls back with (src/agent/install.ts).
const { install } = await import(join(root, 'dist', 'src', 'agent', 'install.js'));
await install({ binDir: out, entry, plugins, force: true });
console.log(`dist/cni: ${plugins.join(' ')}`);
