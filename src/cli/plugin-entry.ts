// Process entry for one plugin: `node plugin-entry.js <type>`. This is what dist/cni/<type> runs when
// no agent serves the request; it loads only the plugin it is asked for. scripts/build-entry.mjs
// bundles it (dist/entry/plugin-entry.cjs, what the launcher execs): no top-level await, so the
// bundle can be a plain script that V8's code cache applies to.
import './plugin-entry-config.js';
import { runAsProcess } from '../skel/run-as-process.js';
import { loadPlugin } from '../plugins.js';
import { setSpareRefills } from '../ipam/spare-policy.js';

async function main(): Promise<void> {
  // one call, then exit: spare IPAM files made for later calls would only delay the exit
  setSpareRefills(false);
  const type = process.argv[2] ?? '';
  const plugin = await loadPlugin(type);
  if (!plugin) {
    process.stderr.write(`fastcni: unknown plugin type "${type}"\n`);
    process.exitCode = 1;
  } else {
    await runAsProcess(plugin, undefined, loadPlugin);
  }
}

void main();
