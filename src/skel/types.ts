// The contract between the skeleton and a plugin: what a plugin hands over, what its handlers receive.
import type { z } from 'zod';
import type { Result } from '../spec/result.js';
import type { PathView } from './caller-paths.js';

/** An attachment named in GC's cni.dev/valid-attachments. */
export interface Attachment {
  containerID: string;
  ifname: string;
}

/** Streams and environment of one invocation; injected so the skeleton runs without a process. */
export interface Invocation {
  env: Record<string, string | undefined>;
  stdin: Uint8Array | string;
  /**
   * Namespace that plays the host for this request; undefined = the caller's own. The agent sets it
   * to the launcher's namespace; library users pass it explicitly.
   */
  hostNetns?: string;
  /**
   * What the request's paths mean: the agent sets it for a launcher that sees other files than the
   * agent does (another mount namespace or root), or whose relative paths start elsewhere; absent,
   * the paths are this process's own.
   */
  paths?: PathView;
  /**
   * Our plugins, for a plugin that delegates (IPAM): a delegate whose file in CNI_PATH is one of our
   * entries runs in this process when this finds its type. Absent: every delegate is exec'd.
   */
  loadPlugin?: PluginLoader;
}

/**
 * Finds a plugin that may run in this process by its type; undefined when the type is not one of
 * them. The entry points hand it down, so that neither the plugins nor the runtime import the table.
 */
export type PluginLoader = (type: string) => Promise<Plugin | undefined>;

export interface InvocationOutput {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** What every handler gets besides its validated config. */
export interface PluginContext {
  command: 'ADD' | 'DEL' | 'CHECK' | 'GC' | 'STATUS';
  containerId: string;
  /** CNI_NETNS ("" when not given, e.g. DEL after the runtime removed it), as the caller wrote it */
  netns: string;
  ifname: string;
  /** CNI_ARGS parsed into key/value pairs, in order */
  args: Array<[string, string]>;
  /** CNI_PATH split on ':' */
  path: string[];
  hostNetns?: string;
  /**
   * The request's paths as the caller means them: open `paths.local(p)` for any path of the
   * request or its config (CNI_NETNS, a dataDir, a file a config names), and report the caller's
   * own string. Messages that name a local path are turned back when the skeleton prints them.
   */
  paths: PathView;
  /** the invocation's plugin table, for delegation (see Invocation.loadPlugin) */
  loadPlugin?: PluginLoader;
  /** the whole environment of the request (delegates get it unchanged but CNI_COMMAND) */
  env: Record<string, string | undefined>;
  /** the request config exactly as received (parsed JSON), for delegation */
  rawConfig: Record<string, unknown>;
  /** the request bytes as received */
  stdin: Uint8Array;
  /** the request's cniVersion (after defaulting) */
  cniVersion: string;
  /** prevResult converted to the newest form, when present */
  prevResult?: Result;
  /** GC only: attachments to keep */
  validAttachments?: Attachment[];
  /** diagnostics the runtime passes through (plugin stderr) */
  log(line: string): void;
}

/** A plugin as handed to definePlugin: its name, its config schema and its handlers. */
export interface PluginDefinition<C> {
  name: string;
  /** printed on stderr when CNI_COMMAND is unset, like the reference's "about" */
  about?: string;
  /** versions this plugin accepts; default all of 0.1.0 … 1.1.0 */
  supportedVersions?: readonly string[];
  /** validates the network config after the common fields (cniVersion, name, type…) are checked */
  config: z.ZodType<C>;
  add(config: C, ctx: PluginContext): Promise<Result>;
  del(config: C, ctx: PluginContext): Promise<void>;
  check?(config: C, ctx: PluginContext): Promise<void>;
  gc?(config: C, ctx: PluginContext): Promise<void>;
  status?(config: C, ctx: PluginContext): Promise<void>;
}

/** An in-process invocation's outcome for a delegating caller (errors are thrown instead). */
export interface DirectOutput {
  /** ADD: the result as the JSON object its printed text would parse back to */
  json?: Record<string, unknown>;
  /** text printed instead of a result (VERSION, or no CNI_COMMAND) */
  stdout: string;
}

/** A defined plugin: run it with injected streams, or call it as a process entry point. */
export interface Plugin<C = unknown> {
  readonly name: string;
  readonly definition: PluginDefinition<C>;
  /** Run one invocation; never throws: errors come back as the spec's JSON and a non-zero exit code. */
  invoke(inv: Invocation): Promise<InvocationOutput>;
  /**
   * The same checks and handler as invoke, for a plugin delegating to this one in-process: log
   * lines go to `log` as they come, the ADD result comes back as a JSON object instead of text,
   * and failures are thrown (turn them into the spec's error with toCniError). Optional: a plugin
   * object made by hand may lack it, and is then invoked.
   */
  invokeDirect?(inv: Invocation, log: (line: string) => void): Promise<DirectOutput>;
}
