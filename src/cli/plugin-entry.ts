// Process entry for one plugin: `node plugin-entry.js <type>`. This is what dist/cni/<type> runs when
// no agent serves the request; it loads only the plugin it is asked for.
import { runAsProcess } from '../skel/run-as-process.js';
import { loadPlugin } from '../plugins.js';

const type = process.argv[2] ?? '';
const plugin = await loadPlugin(type);
if (!plugin) {
  process.stderr.write(`fastcni: unknown plugin type "${type}"\n`);
  process.exitCode = 1;
} else {
  await runAsProcess(plugin);
}
