// The stdin bytes libcni sends a plugin: the plugin object with name, cniVersion (and prevResult,
// runtimeConfig, GC attachments) injected, marshalled as Go marshals a map (keys sorted, compact).
import { goStringify, sortKeysDeep } from '../spec/go-json.js';
import type { Attachment } from '../skel/types.js';
import type { NetworkList, VersionedResultJson } from './types.js';

type PluginObj = NetworkList['plugins'][number];

/**
 * runtimeConfig for a plugin (libcni injectRuntimeConfig): the capability args whose capability the
 * plugin declares true; undefined when none (libcni then leaves any file-written runtimeConfig alone).
 */
export function runtimeConfigFor(
  plugin: PluginObj,
  capabilityArgs: Record<string, unknown> | undefined,
): Record<string, unknown> | undefined {
  const caps = plugin.capabilities;
  if (!capabilityArgs || caps === null || typeof caps !== 'object') return undefined;
  const rc: Record<string, unknown> = {};
  for (const [name, on] of Object.entries(caps as Record<string, unknown>)) {
    if (on === true && Object.hasOwn(capabilityArgs, name)) rc[name] = capabilityArgs[name];
  }
  return Object.keys(rc).length ? rc : undefined;
}

/** What is injected into one plugin's config. */
export interface RequestParts {
  name: string;
  cniVersion: string;
  /** ADD/CHECK/DEL: the result to pass on (kept in its own struct order unless runtimeConfig forces a re-marshal) */
  prevResult?: VersionedResultJson;
  /** ADD/CHECK/DEL: the runtime's capability args */
  capabilityArgs?: Record<string, unknown>;
  /** GC: the valid attachments, written under both cni.dev/valid-attachments and cni.dev/attachments */
  validAttachments?: Attachment[];
}

/** The request bytes for one plugin, byte for byte what libcni's buildOneConfig / InjectConf produce. */
export function buildRequest(plugin: PluginObj, parts: RequestParts): Buffer {
  const inject: Record<string, unknown> = { name: parts.name, cniVersion: parts.cniVersion };
  if (parts.prevResult) inject.prevResult = parts.prevResult;
  if (parts.validAttachments) {
    const list = parts.validAttachments.map((a) => ({ containerID: a.containerID, ifname: a.ifname }));
    inject['cni.dev/valid-attachments'] = list;
    inject['cni.dev/attachments'] = list;
  }
  const merged: Record<string, unknown> = { ...plugin, ...inject };
  const rc = runtimeConfigFor(plugin, parts.capabilityArgs);
  if (rc) {
    // libcni's second InjectConf round-trips everything through a map: all keys sorted.
    merged.runtimeConfig = rc;
    return Buffer.from(goStringify(sortKeysDeep(merged), false));
  }
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(merged).sort()) {
    out[key] = key === 'prevResult' ? merged[key] : sortKeysDeep(merged[key]);
  }
  return Buffer.from(goStringify(out, false));
}
