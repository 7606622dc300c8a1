// Public surface of src/skel: define a plugin, run it as a process, roll back on failure, reach a
// request's paths as its caller means them.
export { definePlugin } from './define-plugin.js';
export { runAsProcess, type ProcessIo } from './run-as-process.js';
export { withRollback, type Rollback } from './rollback.js';
export { ENV_RULES, checkEnv, type Command } from './env-rules.js';
export { MIN_VERSION, checkVersion } from './version-rules.js';
export { CallerPaths, OWN_PATHS, type CallerFiles, type PathView } from './caller-paths.js';
export type {
  Attachment,
  Invocation,
  InvocationOutput,
  DirectOutput,
  PluginContext,
  PluginDefinition,
  Plugin,
  PluginLoader,
} from './types.js';
export type { Result } from '../spec/result.js';
