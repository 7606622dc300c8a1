// The tuning plugin's network config: the reference's fields and where each setting may come from
// (https://github.com/containernetworking/plugins/blob/main/plugins/meta/tuning/tuning.go, parseConf),
// and the checks an ADD makes before the pod is touched: sysctl keys, MAC, MTU, the allowlist.
import { z } from 'zod';
import { CniError, ErrorCode } from '../../src/spec/errors.js';
import { parseCniArgs } from '../../src/spec/cni-args.js';
import { goInt } from '../../src/spec/fields.js';
import { toText } from '../../src/spec/go-json.js';
import type { LinkTuning, SysctlValue } from '../../src/native.js';
import { duplicateKeys } from './duplicate-keys.js';

/** Where the reference keeps its backups (one file per attachment). */
export const DEFAULT_DATA_DIR = '/run/cni/tuning';

// mtu and txQLen are Go ints: any integer passes decoding; their ranges are checked by an ADD
const sysctlMap = z.record(z.string(), z.string());

/** Raw config; unknown keys are kept (other plugins of a chain may own them). */
export const tuningConfigSchema = z
  .object({
    name: z.string(),
    dataDir: z.string().optional(),
    sysctl: sysctlMap.nullable().optional(),
    mac: z.string().optional(),
    promisc: z.boolean().default(false),
    mtu: goInt.default(0),
    txQLen: goInt.optional(),
    allmulti: z.boolean().optional(),
    runtimeConfig: z.object({ mac: z.string().optional() }).loose().optional(),
    args: z
      .object({
        cni: z
          .object({
            sysctl: sysctlMap.nullable().optional(),
            mac: z.string().optional(),
            promisc: z.boolean().optional(),
            mtu: goInt.optional(),
            allmulti: z.boolean().optional(),
            txQLen: goInt.optional(),
          })
          .loose()
          .nullable()
          .optional(),
      })
      .loose()
      .nullable()
      .optional(),
  })
  .loose();

export type TuningConfig = z.infer<typeof tuningConfigSchema>;

/** One configured sysctl: the key as written (the allowlist and messages use it) and its file. */
export interface Sysctl {
  key: string;
  /** the config field it came from ("sysctl" or "args.cni.sysctl") */
  field: string;
  /** below /proc/sys, slash-separated, IFNAME replaced: what the native side opens */
  path: string;
  value: string;
}

/** What a request asks of the pod, after args, runtimeConfig and CNI_ARGS are applied. */
export interface Tuning {
  sysctls: Sysctl[];
  /** the MAC as written, for the result (the reference reports it verbatim) */
  macAsGiven?: string;
  /** the attributes to set, in the native form (MAC lower-case with colons) */
  link: LinkTuning;
}

function invalid(field: string, msg: string): CniError {
  return new CniError(ErrorCode.InvalidNetworkConfig, `${field}: ${msg}`);
}

/**
 * A sysctl key as a path below /proc/sys, the way the reference reads it (its pkg/utils/sysctl):
 * the first separator decides — with a "." first, dots separate and slashes stand for dots
 * ("net.ipv4.conf.eth0/100.rp_filter"); with a "/" first, the key is a path. Then the first
 * "IFNAME" becomes the interface name. Unlike the reference, a ".." component is refused outright
 * (the reference resolves it and refuses only what ends up outside net/).
 */
export function sysctlPath(key: string, ifname: string, field = 'sysctl'): string {
  const dot = key.indexOf('.');
  const slash = key.indexOf('/');
  const dotted = dot >= 0 && (slash < 0 || dot < slash);
  const normal = dotted ? key.replace(/[./]/g, (c) => (c === '.' ? '/' : '.')) : key;
  const parts = normal.replace('IFNAME', ifname).split('/');
  if (parts.includes('..')) throw invalid(field, `invalid net sysctl key ${JSON.stringify(key)}: ".." is not allowed`);
  const clean = parts.filter((p) => p !== '' && p !== '.');
  if (clean[0] !== 'net' || clean.length < 2 || clean.some((p) => p.includes('\0'))) {
    throw invalid(field, `invalid net sysctl key: ${JSON.stringify(key)} (only keys under /proc/sys/net may be set)`);
  }
  return clean.join('/');
}

/** Go's net.ParseMAC for the 6-byte forms (colons, hyphens, dotted quads of hex), lower-case with colons. */
export function normalMac(mac: string): string | undefined {
  let hex: string | undefined;
  if (/^[0-9a-f]{2}([:-])[0-9a-f]{2}(\1[0-9a-f]{2}){4}$/i.test(mac)) hex = mac.replace(/[:-]/g, '');
  else if (/^[0-9a-f]{4}\.[0-9a-f]{4}\.[0-9a-f]{4}$/i.test(mac)) hex = mac.replace(/\./g, '');
  return hex?.toLowerCase().replace(/(..)(?!$)/g, '$1:');
}

/** A MAC a link can take: 6 bytes, unicast, not all zero (the kernel's is_valid_ether_addr). */
function linkMac(mac: string, field: string): string {
  const normal = normalMac(mac);
  if (!normal) throw invalid(field, `invalid MAC address ${JSON.stringify(mac)}`);
  if (normal === '00:00:00:00:00:00' || (Number.parseInt(normal.slice(0, 2), 16) & 1) === 1) {
    throw invalid(field, `${JSON.stringify(mac)} is not a unicast MAC address`);
  }
  return normal;
}

/**
 * The MAC and the field it came from, overridden in the reference's order: mac, then CNI_ARGS MAC,
 * then runtimeConfig.mac, then args.cni.mac (an empty one there means none). CNI_ARGS is parsed
 * whenever it is set, as the reference does: an unknown key without IgnoreUnknown is code 4.
 */
function macOf(c: TuningConfig, cniArgs: string | undefined): { mac: string; field: string } | undefined {
  const env = parseCniArgs(cniArgs, ['IgnoreUnknown', 'MAC']).MAC;
  let out = c.mac ? { mac: c.mac, field: 'mac' } : undefined;
  if (env) out = { mac: env, field: 'CNI_ARGS MAC' };
  if (c.runtimeConfig?.mac) out = { mac: c.runtimeConfig.mac, field: 'runtimeConfig.mac' };
  if (c.args?.cni?.mac !== undefined) out = c.args.cni.mac ? { mac: c.args.cni.mac, field: 'args.cni.mac' } : undefined;
  return out;
}

function rangeChecked(v: number, field: string, min: number, max: number): number {
  if (v < min || v > max) throw invalid(field, `${v} is out of range (${min}–${max})`);
  return v;
}

/** The sysctls of the config and of args.cni (which override the config's, key by key). */
function sysctlsOf(c: TuningConfig, ifname: string): Sysctl[] {
  const merged = new Map<string, { field: string; value: string }>();
  for (const [k, value] of Object.entries(c.sysctl ?? {})) merged.set(k, { field: 'sysctl', value });
  for (const [k, value] of Object.entries(c.args?.cni?.sysctl ?? {})) merged.set(k, { field: 'args.cni.sysctl', value });
  return [...merged].map(([key, { field, value }]) => ({ key, field, value, path: sysctlPath(key, ifname, field) }));
}

/**
 * What the request asks, checked: duplicate sysctl keys (the request's own bytes, since a parsed
 * object has kept one of them), each key's path, the interface name, the MAC, MTU and queue length.
 * Every failure is code 7 naming the field, before anything is changed.
 */
export function tuningOf(c: TuningConfig, req: { stdin: Uint8Array; ifname: string; cniArgs?: string }): Tuning {
  for (const [field, path] of [
    ['sysctl', ['sysctl']],
    ['args.cni.sysctl', ['args', 'cni', 'sysctl']],
  ] as const) {
    const dup = duplicateKeys(toText(req.stdin), path)[0];
    if (dup !== undefined) throw invalid(field, `duplicated sysctl keys are not allowed: ${JSON.stringify(dup)}`);
  }
  if (req.ifname.includes('/')) {
    throw new CniError(ErrorCode.InvalidEnvironment, `Interface name (${req.ifname}) contains an invalid character /`);
  }
  const sysctls = sysctlsOf(c, req.ifname);
  const a = c.args?.cni;
  const mtu = a?.mtu ?? c.mtu;
  const txQLen = a?.txQLen ?? c.txQLen;
  const promisc = a?.promisc ?? c.promisc;
  const mac = macOf(c, req.cniArgs);
  const link: LinkTuning = {
    mac: mac ? linkMac(mac.mac, mac.field) : undefined,
    // the reference sets the MTU when it is not 0; 68 is the IPv4 minimum every Ethernet device has
    mtu: mtu !== 0 ? rangeChecked(mtu, a?.mtu !== undefined ? 'args.cni.mtu' : 'mtu', 68, 65535) : undefined,
    // like the reference, promisc only ever turns promiscuous mode on
    promisc: promisc ? true : undefined,
    allmulti: a?.allmulti ?? c.allmulti,
    txQLen: txQLen !== undefined ? rangeChecked(txQLen, a?.txQLen !== undefined ? 'args.cni.txQLen' : 'txQLen', 0, 0xffffffff) : undefined,
  };
  return { sysctls, macAsGiven: mac?.mac, link };
}

/** Whether a request sets any link attribute (then the reference writes a backup). */
export function setsLink(l: LinkTuning): boolean {
  return l.mac !== undefined || l.mtu !== undefined || l.promisc !== undefined || l.allmulti !== undefined || l.txQLen !== undefined;
}

/** The native form of the sysctls. */
export function nativeSysctls(s: Sysctl[]): SysctlValue[] {
  return s.map((x) => ({ key: x.path, value: x.value }));
}
