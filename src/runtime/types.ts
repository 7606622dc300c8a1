// The contract of the runtime side (libcni's equivalent): what callers configure and get back.
import type { Attachment, PluginLoader } from '../skel/types.js';
import type { Result } from '../spec/result.js';

/** How a runtime instance finds configs, plugins and its cache. */
export interface RuntimeOptions {
  /** directory of .conflist/.conf/.json files (cnitool: NETCONFPATH); default /etc/cni/net.d */
  confDir?: string;
  /** plugin search path (CNI_PATH), in order */
  pluginPath: string[];
  /** libcni's cache root; results go to <cacheDir>/results; default /var/lib/cni */
  cacheDir?: string;
  /**
   * Namespace that plays the host for plugins run in-process; undefined = the caller's own.
   * Exec'd plugins always run in the caller's namespace, as libcni's do.
   */
  hostNetns?: string;
  /** kill a plugin (and fail the call) after this long; default 120 000 ms */
  timeoutMs?: number;
  /**
   * Our plugins: a plugin whose file in CNI_PATH is one of our entries runs in-process when this
   * finds its type (and so do the delegates it calls). Absent: every plugin is exec'd.
   */
  loadPlugin?: PluginLoader;
  /** false: exec every plugin even when loadPlugin is given (default true) */
  inProcess?: boolean;
  /** where plugins' stderr goes; default process.stderr */
  stderr?: (chunk: string) => void;
  /**
   * Base environment for plugins (libcni: the runtime's own); the six CNI_* variables are appended
   * after it and win. Default process.env. (Addition to the first contract.)
   */
  env?: Record<string, string | undefined>;
}

/** One attachment's runtime parameters (libcni's RuntimeConf). */
export interface RuntimeConf {
  containerId: string;
  /** netns path; may be "" for DEL after the namespace is gone */
  netns: string;
  ifname: string;
  /** CNI_ARGS pairs, in order */
  args?: Array<[string, string]>;
  /** capability args (portMappings, ips, mac, …), injected into runtimeConfig for plugins that declare them */
  capabilityArgs?: Record<string, unknown>;
}

/** A parsed conflist, as loaded from a file (or up-converted from a single .conf). */
export interface NetworkList {
  name: string;
  cniVersion: string;
  disableCheck: boolean;
  disableGC: boolean;
  loadOnlyInlinedPlugins: boolean;
  /** each plugin's config object, unknown keys preserved */
  plugins: Array<Record<string, unknown> & { type: string }>;
  /** the exact file bytes (libcni stores these base64 in the cache) */
  bytes: Buffer;
  /** file it came from, when it came from a file */
  source?: string;
}

/** A cached attachment (libcni's cniCacheV1 file). */
export interface CachedAttachment {
  containerId: string;
  ifname: string;
  networkName: string;
  netns?: string;
  cniArgs?: Array<[string, string]>;
  capabilityArgs?: Record<string, unknown>;
  /** the final ADD result as cached (in the version it was produced) */
  result?: Record<string, unknown>;
  /** the conflist bytes that were used for the ADD */
  config: Buffer;
}

/** A file of the config directory that could not be loaded (fastcni goes on past it; libcni stops). */
export interface ConfigFileError {
  file: string;
  error: Error;
}

/** Every network of a config directory, first file per name winning, plus the files that failed. */
export interface NetworkListing {
  networks: NetworkList[];
  errors: ConfigFileError[];
}

/** A CNI result in the shape of its own cniVersion, as libcni marshals it (struct field order). */
export type VersionedResultJson = Record<string, unknown> & { cniVersion: string };

export type { Attachment, Result };
