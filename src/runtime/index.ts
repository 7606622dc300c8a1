// Public surface of src/runtime: libcni's equivalent (config loading, chains, results cache, GC, STATUS).
export { CniRuntime, DEFAULT_CACHE_DIR, DEFAULT_CONF_DIR, DEFAULT_TIMEOUT_MS } from './cni-runtime.js';
export { loadNetworkList, listNetworks, loadNetworkListFile, loadSingleConfFile, confFiles, type LoadOptions } from './conf-load.js';
export { parseNetworkList, parsePluginConf, confListFromConf } from './conf-parse.js';
export {
  PluginRunner,
  pluginEnv,
  pluginFailure,
  stringifyCniArgs,
  type PluginCall,
  type PluginCommand,
  type RunnerOptions,
} from './invoke-plugin.js';
export { execPlugin, type ExecRequest } from './exec-plugin.js';
export { findInPath, isOurPlugin, PLUGIN_MARKER } from './plugin-lookup.js';
export { buildRequest, runtimeConfigFor, type RequestParts } from './plugin-request.js';
export { ResultsCache, encodeCache, decodeCache, CACHE_KIND, type CacheKey } from './results-cache.js';
export { parsePluginResult, normaliseResult, resultStructJson } from './result-json.js';
export { GcGate } from './gc-gate.js';
export type {
  RuntimeOptions,
  RuntimeConf,
  NetworkList,
  CachedAttachment,
  ConfigFileError,
  NetworkListing,
  VersionedResultJson,
} from './types.js';
