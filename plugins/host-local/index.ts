// The host-local IPAM plugin (fastcni-plugin): address allocation from range sets, state in
// <dataDir>/<network>/ compatible with the reference plugin. Fields: ./README.md.
import { definePlugin } from '../../src/skel/define-plugin.js';
import { hostLocalDefinition } from './host-local.js';

/** host-local, ready to invoke or run as a process entry point. */
export const hostLocal = definePlugin(hostLocalDefinition);
export default hostLocal;
