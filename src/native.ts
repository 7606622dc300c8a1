// The only importer of the native addon: loads the .node file and gives every export a precise type.
// Native calls never reject for kernel failures; they resolve to { error } data, which this file
// turns into a thrown NativeError (see src/spec/errors.ts for the mapping to CNI codes).
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NativeError, type NativeFailure } from './spec/errors.js';
import { recordPhase, type PhaseTotal } from './phases.js';

/** A network namespace: a path such as /var/run/netns/x or /proc/PID/ns/net; undefined = the caller's own. */
export type NetnsPath = string | undefined;

/** A route as the native side applies or reports it; gw absent means on-link. */
export interface NativeRoute {
  dst: string;
  gw?: string;
  priority?: number;
  table?: number;
  scope?: number;
}

export interface LinkInfo {
  name: string;
  index: number;
  mac: string;
  /** rtnetlink kind ("bridge", "veth", …); "" when the link has no kind (lo, physical). */
  kind: string;
  mtu: number;
  up: boolean;
  promisc: boolean;
  /** name of the master (bridge) this link is enslaved to, if any */
  master?: string;
  /** for a veth: ifindex of its peer (in whatever namespace the peer lives) */
  peerIndex?: number;
  hairpin?: boolean;
}

/** What the first stage of a bridge ADD needs: nothing from IPAM. */
export interface BridgeLinkRequest {
  /** namespace that plays the host; undefined = caller's own */
  hostNetns?: string;
  podNetns: string;
  bridge: string;
  /** MTU for a newly created bridge and both veth ends; undefined = kernel default */
  mtu?: number;
  promisc: boolean;
  vlanFiltering: boolean;
  /** container-side interface name (CNI_IFNAME) */
  ifname: string;
  /** container-side MAC; undefined = kernel-chosen */
  mac?: string;
  hairpin: boolean;
  portIsolation: boolean;
  /** host port VLAN set-up (only when vlanFiltering) */
  vlan?: number;
  vlanTrunk?: number[];
  preserveDefaultVlan: boolean;
  /** keep IPv6 DAD on the container side (enhanced_dad) instead of disabling it */
  enableDad: boolean;
  /** false for disableContainerInterface: leave the container link down */
  containerUp: boolean;
}

/** The second stage of a bridge ADD: what follows from the IPAM result. */
export interface BridgeL3Request {
  /** CIDRs to put on the container interface, e.g. "10.1.0.5/24" */
  addresses: string[];
  /** routes to add in the container, gateways already resolved by the caller */
  routes: NativeRoute[];
  /**
   * CIDRs to put on the bridge (gateway address with the pod prefix). With vlan ≠ 0 they go on
   * the VLAN gateway veth `<bridge>.<vlan>` instead (created on first use, an untagged member of
   * that VLAN), as the reference does for isGateway with a vlan.
   */
  bridgeAddresses: string[];
  /** replace other addresses on the bridge instead of failing */
  forceAddress: boolean;
  forwardV4: boolean;
  forwardV6: boolean;
  /**
   * ipMasq: add `addresses` to the network's masquerade set as the call's last step (undone with
   * the veth if it fails); removed again by masqDel
   */
  masquerade?: { network: string; containerId: string };
}

export interface BridgeAddResult {
  bridge: LinkInfo;
  hostVeth: LinkInfo;
  container: LinkInfo;
  /** the VLAN gateway `<bridge>.<vlan>` holding the bridgeAddresses, when vlan ≠ 0 and there were any */
  vlanGateway?: LinkInfo;
}

export interface BridgeDelRequest {
  hostNetns?: string;
  /** absent or non-existent: nothing to delete in the pod */
  podNetns?: string;
  ifname: string;
  /** also report hostIfname and mac, read before the deletion (one more lookup in hostNetns) */
  namePort?: boolean;
  /**
   * ipMasq: remove the masquerade elements of the link's addresses while the kernel tears the veth
   * down (`masqueraded` in the result says whether it happened; not when the link was gone)
   */
  masquerade?: { network: string; containerId: string };
}

export interface BridgeDelResult {
  /** false when podNetns was absent or no longer exists */
  netnsFound: boolean;
  /** global unicast CIDRs the container link had before deletion */
  addresses: string[];
  /** with namePort: the host end of the deleted veth, when it could be named before the deletion */
  hostIfname?: string;
  /** with namePort: the deleted container link's MAC (when hostIfname is there) */
  mac?: string;
  /** with masquerade: the elements of `addresses` were removed */
  masqueraded: boolean;
}

export interface PodInspectRequest {
  hostNetns?: string;
  podNetns: string;
  ifname: string;
  /** bridge to describe as well (CHECK of the bridge plugin) */
  bridge?: string;
}

export interface PodInspectResult {
  container?: LinkInfo;
  /** the host end of the container's veth, found by peer index in hostNetns */
  hostPeer?: LinkInfo;
  bridge?: LinkInfo;
  /** CIDRs on the container link (all scopes but host) */
  addresses: string[];
  /** routes in the container's main table that use the container link */
  routes: NativeRoute[];
}

export interface LoopbackResult {
  /** lo as it is after the call */
  link: LinkInfo;
  /** CIDRs on lo */
  addresses: string[];
}

export interface MasqRequest {
  hostNetns?: string;
  network: string;
  containerId: string;
  ifname: string;
  /** pod CIDRs (address/prefix); on DEL may be empty: then the attachment's elements are found by their comment */
  addresses: string[];
}

export interface MasqEntry {
  network: string;
  containerId: string;
  ifname: string;
  address: string;
}

export interface SpoofCheckAddRequest {
  hostNetns?: string;
  /** CNI network name; each network has its own pair of sets in table `bridge fastcni` */
  network: string;
  /** the pod's host-side veth (the bridge port) */
  hostIfname: string;
  /** the container interface's MAC: the only source MAC allowed from hostIfname */
  mac: string;
  containerId: string;
  ifname: string;
}

export interface SpoofCheckDelRequest {
  hostNetns?: string;
  network: string;
  containerId: string;
  ifname: string;
  /** when given, only elements of this port are removed; elements are always matched by comment `<containerId>/<ifname>` */
  hostIfname?: string;
  /**
   * the container MAC: with hostIfname, both elements are looked up by key (no listing of the
   * network's sets), and hostIfname stops being a filter when they are not found there
   */
  mac?: string;
}

export interface SpoofCheckEntry {
  network: string;
  containerId: string;
  ifname: string;
  hostIfname: string;
  /** "" when only the port element exists */
  mac: string;
}

/** The raw addon as built by napi-rs: every async call resolves to { error?, value? }. */
interface Outcome<T> {
  error?: NativeFailure;
  value?: T;
}
interface RawBridgeAddStage {
  finish(l3: BridgeL3Request): Promise<Outcome<BridgeAddResult>>;
  abort(): Promise<Outcome<boolean>>;
}
interface RawAddon {
  nativeVersion(): string;
  bridgeAddBegin(req: BridgeLinkRequest): RawBridgeAddStage;
  bridgeDel(req: BridgeDelRequest): Promise<Outcome<BridgeDelResult>>;
  podInspect(req: PodInspectRequest): Promise<Outcome<PodInspectResult>>;
  loopbackSet(netns: string, up: boolean): Promise<Outcome<LoopbackResult>>;
  masqAdd(req: MasqRequest): Promise<Outcome<boolean>>;
  masqDel(req: MasqRequest): Promise<Outcome<boolean>>;
  masqList(hostNetns: string | undefined | null, network: string | undefined | null): Promise<Outcome<MasqEntry[]>>;
  spoofCheckAdd(req: SpoofCheckAddRequest): Promise<Outcome<boolean>>;
  spoofCheckDel(req: SpoofCheckDelRequest): Promise<Outcome<boolean>>;
  spoofCheckList(hostNetns: string | undefined | null, network: string | undefined | null): Promise<Outcome<SpoofCheckEntry[]>>;
  lockAcquire(path: string): Promise<Outcome<number>>;
  lockRelease(handle: number): Outcome<boolean>;
  lockTry(path: string): Outcome<number>;
  linkList(netns: string | null): Promise<Outcome<LinkInfo[]>>;
  linkDel(netns: string | null, name: string): Promise<Outcome<boolean>>;
  addrList(netns: string | null, name: string | null): Promise<Outcome<string[]>>;
  routeList(netns: string | null, name: string | null): Promise<Outcome<NativeRoute[]>>;
  sysctlGet(netns: string | null, key: string): Promise<Outcome<string>>;
  sysctlSet(netns: string | null, key: string, value: string): Promise<Outcome<boolean>>;
  netnsCreate(name: string): Promise<Outcome<string>>;
  netnsDelete(name: string): Promise<Outcome<boolean>>;
  agentListen(path: string, maxPayload: number, readTimeoutMs: number): AgentListener;
  nativePhases(reset: boolean): Array<{ name: string; totalUs: number; count: number }>;
  execIn(req: { netns?: string; path: string; env: string[][]; stdin: Buffer }): Promise<Outcome<ExecInResult>>;
}

/** What an exec'd child did: exit code (128 + signal when killed) and its output as UTF-8. */
export interface ExecInResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** One exec inside a network namespace. */
export interface ExecInRequest {
  /** namespace path the child starts in (forked from a thread of ours that entered it); undefined = ours */
  netns?: string;
  path: string;
  /** the child's whole environment */
  env: Record<string, string>;
  stdin: Uint8Array | string;
}

function addonPath(): string {
  if (process.env.FASTCNI_ADDON) return process.env.FASTCNI_ADDON;
  // Works both from src/ (vitest) and dist/src/ (built): walk up to the package root.
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++) {
    const candidate = join(dir, 'native', 'addon', 'index.node');
    if (existsSync(candidate)) return candidate;
    dir = dirname(dir);
  }
  throw new Error('fastcni native addon not found: run `make build` (native/addon/index.node)');
}

let loaded: RawAddon | undefined;
function addon(): RawAddon {
  loaded ??= createRequire(import.meta.url)(addonPath()) as RawAddon;
  return loaded;
}

/** An async native call, timed as phase "native.<op>" (src/phases.ts) from `since`, and unwrapped. */
async function call<T>(op: string, start: () => Promise<Outcome<T>>, since = performance.now()): Promise<T> {
  try {
    return unwrap(op, await start());
  } finally {
    recordPhase(`native.${op}`, performance.now() - since);
  }
}

function unwrap<T>(op: string, o: Outcome<T>): T {
  if (o.error) throw new NativeError(o.error);
  if (o.value === undefined) throw new NativeError({ kind: 'internal', op, errno: 0, message: 'native call returned no value' });
  return o.value;
}

/** A bridge ADD whose first stage is under way (see bridgeAddBegin). */
export interface BridgeAddStage {
  /** The second stage; throws the first or second stage's error, the veth then deleted again. */
  finish(l3: BridgeL3Request): Promise<BridgeAddResult>;
  /** Delete the veth of the first stage; throws the first stage's error if it failed. */
  abort(): Promise<void>;
}

/**
 * Start a bridge ADD: the bridge ensured, the veth pair created straight into the pod, its host
 * port and DAD sysctls set, on a native worker, while the caller runs IPAM; then call exactly one
 * of finish (addresses, routes, gateway, masquerade) or abort. Timed from here to the end of
 * finish as phase "native.bridgeAdd" (which therefore overlaps the caller's IPAM).
 */
export function bridgeAddBegin(req: BridgeLinkRequest): BridgeAddStage {
  const t = performance.now();
  const raw = addon().bridgeAddBegin(req);
  return {
    finish: (l3) => call('bridgeAdd', () => raw.finish(l3), t),
    abort: async () => {
      await call('bridgeAdd', () => raw.abort(), t);
    },
  };
}

/** Delete the container link (idempotent), reporting the addresses it had. */
export async function bridgeDel(req: BridgeDelRequest): Promise<BridgeDelResult> {
  return call('bridgeDel', () => addon().bridgeDel(req));
}
/** Describe a pod's interface, its host peer and optionally the bridge, for CHECK. */
export async function podInspect(req: PodInspectRequest): Promise<PodInspectResult> {
  return call('podInspect', () => addon().podInspect(req));
}
/** Set lo up or down inside a namespace. */
export async function loopbackSet(netns: string, up: boolean): Promise<LoopbackResult> {
  return call('loopbackSet', () => addon().loopbackSet(netns, up));
}
/** Add the pod's addresses to our nf_tables masquerade sets (one batch). */
export async function masqAdd(req: MasqRequest): Promise<void> {
  await call('masqAdd', () => addon().masqAdd(req));
}
/** Remove the pod's addresses from our masquerade sets; idempotent. */
export async function masqDel(req: MasqRequest): Promise<void> {
  await call('masqDel', () => addon().masqDel(req));
}
/** List masquerade elements (all networks, or one). */
export async function masqList(hostNetns?: string, network?: string): Promise<MasqEntry[]> {
  return call('masqList', () => addon().masqList(hostNetns ?? null, network ?? null));
}
/** Allow only `mac` as source MAC from the pod's host port (bridge macspoofchk; one batch of two set elements). */
export async function spoofCheckAdd(req: SpoofCheckAddRequest): Promise<void> {
  await call('spoofCheckAdd', () => addon().spoofCheckAdd(req));
}
/** Remove the attachment's spoof-check elements (found by comment); idempotent, needs only the host namespace. */
export async function spoofCheckDel(req: SpoofCheckDelRequest): Promise<void> {
  await call('spoofCheckDel', () => addon().spoofCheckDel(req));
}
/** List guarded ports (all networks, or one). */
export async function spoofCheckList(hostNetns?: string, network?: string): Promise<SpoofCheckEntry[]> {
  return call('spoofCheckList', () => addon().spoofCheckList(hostNetns ?? null, network ?? null));
}
/** Take an exclusive flock on a file (created if missing); resolves once held. */
export async function lockAcquire(path: string): Promise<number> {
  return call('lockAcquire', () => addon().lockAcquire(path));
}
/** Take the flock only if it is free right now: the handle, or undefined when someone holds it. */
export function lockTry(path: string): number | undefined {
  const handle = unwrap('lockTry', addon().lockTry(path));
  return handle < 0 ? undefined : handle;
}
/** Release a lock taken with lockAcquire or lockTry. */
export function lockRelease(handle: number): void {
  unwrap('lockRelease', addon().lockRelease(handle));
}
/** Every link of a namespace, with master names resolved. */
export async function linkList(netns?: NetnsPath): Promise<LinkInfo[]> {
  return call('linkList', () => addon().linkList(netns ?? null));
}
/** Delete a link by name; false when it was already gone. */
export async function linkDel(netns: NetnsPath, name: string): Promise<boolean> {
  return call('linkDel', () => addon().linkDel(netns ?? null, name));
}
/** CIDRs on one link (by name), or on every link of the namespace when name is omitted. */
export async function addrList(netns?: NetnsPath, name?: string): Promise<string[]> {
  return call('addrList', () => addon().addrList(netns ?? null, name ?? null));
}
/** Unicast routes of the main table, optionally only those through one link (by name). */
export async function routeList(netns?: NetnsPath, name?: string): Promise<NativeRoute[]> {
  return call('routeList', () => addon().routeList(netns ?? null, name ?? null));
}
/** Read a net.* sysctl inside a namespace ("net.ipv4.ip_forward" or "net/ipv4/ip_forward"). */
export async function sysctlGet(netns: NetnsPath, key: string): Promise<string> {
  return call('sysctlGet', () => addon().sysctlGet(netns ?? null, key));
}
/** Write a net.* sysctl inside a namespace (only net.* keys are accepted). */
export async function sysctlSet(netns: NetnsPath, key: string, value: string): Promise<void> {
  await call('sysctlSet', () => addon().sysctlSet(netns ?? null, key, value));
}
/**
 * Create a named network namespace exactly as `ip netns add NAME` does; resolves to its path,
 * /var/run/netns/NAME. Throws NativeError kind "exists" when the name is taken, "invalid" when it
 * is not one file name (empty, ".", "..", containing "/").
 */
export async function netnsCreate(name: string): Promise<string> {
  return call('netnsCreate', () => addon().netnsCreate(name));
}
/**
 * Delete a named network namespace as `ip netns del NAME` does (lazy unmount, then unlink).
 * Throws NativeError kind "notFound" when there is no such name; callers that want idempotence catch it.
 */
export async function netnsDelete(name: string): Promise<void> {
  await call('netnsDelete', () => addon().netnsDelete(name));
}
/** One request as the agent's native listener read it. */
export interface AgentRequest {
  /** what reply() answers */
  id: number;
  /** the caller (SO_PEERCRED) */
  pid: number;
  uid: number;
  /** the frame (header and payload) when `end` is "complete", else as much as was read */
  bytes: Buffer;
  /** why reading stopped: bytes after the frame, not a frame of ours or over the limit, the caller closed early, the time-out */
  end: 'complete' | 'extra' | 'rejected' | 'eof' | 'timeout' | 'error';
  /** an fd of the caller's network namespace, open until reply(); absent when it is the agent's own */
  netnsFd?: number;
  /** why the caller's namespace could not be opened (the request must not be served) */
  netnsError?: string;
  /** from the accept to the hand-over, µs */
  readUs: number;
}

/** The agent's socket, accepted and read on a native thread (see native/core/src/agent_socket.rs). */
export interface AgentListener {
  /** the next request; null once stopped and drained */
  next(): Promise<AgentRequest | null>;
  /** answer and close; false when the caller has gone */
  reply(id: number, bytes: Buffer): boolean;
  /** stop accepting and remove the socket file */
  stop(): void;
}

/** Bind `path` (with the umask the caller set) and start accepting; throws when it cannot listen. */
export function agentListen(path: string, maxPayload: number, readTimeoutMs: number): AgentListener {
  return addon().agentListen(path, maxPayload, readTimeoutMs);
}

/**
 * Run a binary to completion inside `req.netns`; rejects with a NativeError carrying the errno when
 * it cannot be started. For the agent's exec'd delegates, which must run where the launcher ran.
 */
export async function execIn(req: ExecInRequest): Promise<ExecInResult> {
  const stdin =
    typeof req.stdin === 'string'
      ? Buffer.from(req.stdin, 'utf8')
      : Buffer.from(req.stdin.buffer, req.stdin.byteOffset, req.stdin.byteLength);
  return call('execIn', () => addon().execIn({ netns: req.netns, path: req.path, env: Object.entries(req.env), stdin }));
}

/** Per-phase time of the native ADD path (native/core/src/phase.rs); `reset` restarts the counters. */
export function nativePhases(reset = false): PhaseTotal[] {
  return addon()
    .nativePhases(reset)
    .map((p) => ({ name: p.name, totalMs: p.totalUs / 1000, count: p.count }));
}

/** Version string of the loaded addon. */
export function nativeVersion(): string {
  return addon().nativeVersion();
}
