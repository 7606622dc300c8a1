// Writes dist/cni/: one executable per plugin we provide, usable as a CNI_PATH entry.
// For now each is a small shell script that starts Node on the plugin entry; the native
// launcher replaces them later. The marker line lets delegation recognise our own plugins.
import { mkdirSync, writeFileSync, readdirSync, existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'dist', 'cni');
const entry = join(root, 'dist', 'src', 'cli', 'plugin-entry.js');
mkdirSync(out, { recursive: true });
const plugins = readdirSync(join(root, 'plugins'), { withFileTypes: true })
  .filter((d) => d.isDirectory() && existsSync(join(root, 'plugins', d.name, 'index.ts')))
  .map((d) => d.name);
for (const name of plugins) {
  const script = `#!/bin/sh\n# fastcni-plugin: ${name}\nexec node ${JSON.stringify(entry)} ${name}\n`;
  writeFileSync(join(out, name), script, { mode: 0o755 });
}
console.log(`dist/cni: ${plugins.join(' ')}`);
