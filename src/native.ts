// The only importer of the native addon. Its types are the declarations napi-rs generates from the
// Rust sources, committed as native/addon/index.d.ts (`make check` fails when they are stale); this
// file re-exports them, wraps the calls and loads the .node on first use. Native calls never reject
// for kernel failures: they resolve to { error } data, which becomes a thrown NativeError here (see
// src/spec/errors.ts for the mapping to CNI codes).
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type * as Addon from '../native/addon/index.js';
import { packageRoot } from './package-root.js';
import { NativeError } from './spec/errors.js';
import { recordPhase, type PhaseTotal } from './phases.js';
import { armedRequest, fault, FAULTS_ENABLED, type ArmedRequest, type NativeCall } from './faults.js';

export type {
  AgentListener,
  AgentRequest,
  BridgeAddResult,
  BridgeDelRequest,
  BridgeDelResult,
  BridgeL3Request,
  BridgeLinkRequest,
  ExecResult,
  Failure,
  FirewallDelRequest,
  FirewallInspection,
  FirewallRequest,
  GcAttachment,
  LinkInfo,
  LoopbackResult,
  MasqEntry,
  MasqRequest,
  NftGcRequest,
  NftOwner,
  PodInspectRequest,
  PodIface,
  PodInspectResult,
  ReferenceCleanup,
  ReferenceDelRequest,
  ReferenceGcRequest,
  ReferencePrepareRequest,
  Route as NativeRoute,
  SpoofCheckAddRequest,
  SpoofCheckDelRequest,
  SpoofCheckEntry,
} from '../native/addon/index.js';
export type {
  LinkTuning,
  SysctlValue,
  TuningInspectRequest,
  TuningInspectResult,
  TuningLinkState,
  TuningPrior,
  TuningRequest,
} from '../native/addon/index.js';
export type {
  BandwidthAddResult,
  BandwidthInspectResult,
  BandwidthRequest,
  BandwidthShape,
  ShapeState,
  TbfInfo,
} from '../native/addon/index.js';

/** A network namespace: a path such as /var/run/netns/x or /proc/PID/ns/net; undefined = the caller's own. */
export type NetnsPath = string | undefined;

function addonPath(): string {
  if (process.env.FASTCNI_ADDON) return process.env.FASTCNI_ADDON;
  const path = join(packageRoot(), 'native', 'addon', 'index.node');
  if (!existsSync(path)) {
    throw new Error(
      `fastcni native addon not found at ${path}: run \`make build\` in the repository, or \`node scripts/build-native.mjs\` in an installed package`,
    );
  }
  return path;
}

let loaded: typeof Addon | undefined;
function addon(): typeof Addon {
  loaded ??= createRequire(import.meta.url)(addonPath()) as typeof Addon;
  return loaded;
}

/**
 * One of the addon's enum objects, read from the addon on first use, so that importing this file
 * loads nothing (a CLI command or a library user that never calls native code needs no .node).
 */
function lazyEnum<K extends 'FailureKind' | 'LinkKind' | 'ReadEnd' | 'SublinkKind' | 'DhcpExchange'>(name: K): (typeof Addon)[K] {
  return new Proxy({} as (typeof Addon)[K], {
    get: (_, key) => Reflect.get(addon()[name], key),
    has: (_, key) => Reflect.has(addon()[name], key),
    ownKeys: () => Reflect.ownKeys(addon()[name]),
    getOwnPropertyDescriptor: (_, key) => Reflect.getOwnPropertyDescriptor(addon()[name], key),
  });
}

/** Why a native call failed: the `kind` of a Failure and of a NativeError. */
export const FailureKind = lazyEnum('FailureKind');
export type FailureKind = Addon.FailureKind;
/** What kind of link the kernel says a link is: LinkInfo's `kind`. */
export const LinkKind = lazyEnum('LinkKind');
export type LinkKind = Addon.LinkKind;
/** Why the agent's listener stopped reading a request: AgentRequest's `end`. */
export const ReadEnd = lazyEnum('ReadEnd');
export type ReadEnd = Addon.ReadEnd;

/** What every async native call resolves to. */
type Outcome = { error?: Addon.Failure; value?: unknown };
type ValueOf<O extends Outcome> = NonNullable<O['value']>;

/** An async native call, timed as phase "native.<op>" (src/phases.ts) from `since`, and unwrapped. */
async function call<O extends Outcome>(op: NativeCall, start: () => Promise<O>, since = performance.now()): Promise<ValueOf<O>> {
  try {
    const armed = armedRequest();
    const value = unwrap(op, await (armed ? armedStart(armed, start) : start()));
    if (FAULTS_ENABLED) fault(`native.${op}`);
    return value;
  } finally {
    recordPhase(`native.${op}`, performance.now() - since);
  }
}

/** Dispatch a native call carrying the request's fault injection to its worker (src/faults.ts). */
function armedStart<T>(armed: ArmedRequest, start: () => T): T {
  addon().faultArm(armed.point ?? null, armed.trace ?? null);
  try {
    return start();
  } finally {
    addon().faultArm(null, null);
  }
}

function unwrap<O extends Outcome>(op: string, o: O): ValueOf<O> {
  if (o.error) throw new NativeError(o.error);
  if (o.value === undefined) {
    throw new NativeError({ kind: FailureKind.Internal, op, errno: 0, message: 'native call returned no value' });
  }
  return o.value as ValueOf<O>;
}

/** A bridge ADD whose first stage is under way (see bridgeAddBegin). */
export interface BridgeAddStage {
  /** The second stage; throws the first or second stage's error, the veth then deleted again. */
  finish(l3: Addon.BridgeL3Request): Promise<Addon.BridgeAddResult>;
  /** Delete the veth of the first stage; throws the first stage's error if it failed. */
  abort(): Promise<void>;
}

/**
 * Start a bridge ADD: the bridge ensured, the veth pair created straight into the pod, its host
 * port and DAD sysctls set, on a native worker, while the caller runs IPAM; then call exactly one
 * of finish (addresses, routes, gateway, masquerade) or abort. Timed from here to the end of
 * finish as phase "native.bridgeAdd" (which therefore overlaps the caller's IPAM).
 */
export function bridgeAddBegin(req: Addon.BridgeLinkRequest): BridgeAddStage {
  const t = performance.now();
  const armed = armedRequest();
  const raw = armed ? armedStart(armed, () => addon().bridgeAddBegin(req)) : addon().bridgeAddBegin(req);
  return {
    finish: (l3) => call('bridgeAdd', () => raw.finish(l3), t),
    abort: async () => {
      await call('bridgeAdd', () => raw.abort(), t);
    },
  };
}

/** Delete the container link (idempotent), reporting the addresses it had. */
export async function bridgeDel(req: Addon.BridgeDelRequest): Promise<Addon.BridgeDelResult> {
  return call('bridgeDel', () => addon().bridgeDel(req));
}
/** Describe a pod's interface, its host peer and optionally the bridge, for CHECK. */
export async function podInspect(req: Addon.PodInspectRequest): Promise<Addon.PodInspectResult> {
  return call('podInspect', () => addon().podInspect(req));
}
/** Set lo up or down inside a namespace. */
export async function loopbackSet(netns: string, up: boolean): Promise<Addon.LoopbackResult> {
  return call('loopbackSet', () => addon().loopbackSet(netns, up));
}
/** Add the pod's addresses to our nf_tables masquerade sets (one batch). */
export async function masqAdd(req: Addon.MasqRequest): Promise<void> {
  await call('masqAdd', () => addon().masqAdd(req));
}
/** Remove the pod's addresses from our masquerade sets, and a set left empty with its rule; idempotent. */
export async function masqDel(req: Addon.MasqRequest): Promise<void> {
  await call('masqDel', () => addon().masqDel(req));
}
/** GC of one network's masquerade elements: those of attachments not in `valid`, then the network's empty sets. */
export async function masqGc(req: Addon.NftGcRequest): Promise<void> {
  await call('masqGc', () => addon().masqGc(req));
}
/** List masquerade elements (all networks, or one). */
export async function masqList(hostNetns?: string, network?: string): Promise<Addon.MasqEntry[]> {
  return call('masqList', () => addon().masqList(hostNetns ?? null, network ?? null));
}
/** Remove the reference plugins' nf_tables objects of one attachment (found by their names and comments); idempotent. */
export async function referenceDel(req: Addon.ReferenceDelRequest): Promise<Addon.ReferenceCleanup> {
  return call('referenceDel', () => addon().referenceDel(req));
}
/** GC of one network's reference masquerade and iptables portmap objects: those of containers not in `valid`. */
export async function referenceGc(req: Addon.ReferenceGcRequest): Promise<Addon.ReferenceCleanup> {
  return call('referenceGc', () => addon().referenceGc(req));
}
/** Hand a masqueraded pod of ours back to the reference: the empty chain its iptables teardown needs; the chains made. */
export async function referencePrepare(req: Addon.ReferencePrepareRequest): Promise<string[]> {
  return call('referencePrepare', () => addon().referencePrepare(req));
}
/** Allow only `mac` as source MAC from the pod's host port (bridge macspoofchk; one batch of two set elements). */
export async function spoofCheckAdd(req: Addon.SpoofCheckAddRequest): Promise<void> {
  await call('spoofCheckAdd', () => addon().spoofCheckAdd(req));
}
/** Remove the attachment's spoof-check elements (found by comment), and the network's sets and rule when they are left empty; idempotent, needs only the host namespace. */
export async function spoofCheckDel(req: Addon.SpoofCheckDelRequest): Promise<void> {
  await call('spoofCheckDel', () => addon().spoofCheckDel(req));
}
/** GC of one network's spoof-check elements: those of attachments not in `valid`, then the network's sets and rule if left empty. */
export async function spoofCheckGc(req: Addon.NftGcRequest): Promise<void> {
  await call('spoofCheckGc', () => addon().spoofCheckGc(req));
}
/** List guarded ports (all networks, or one). */
export async function spoofCheckList(hostNetns?: string, network?: string): Promise<Addon.SpoofCheckEntry[]> {
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
export async function linkList(netns?: NetnsPath): Promise<Addon.LinkInfo[]> {
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
export async function routeList(netns?: NetnsPath, name?: string): Promise<Addon.Route[]> {
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
 * /var/run/netns/NAME. Throws NativeError kind FailureKind.Exists when the name is taken,
 * FailureKind.Invalid when it is not one file name (empty, ".", "..", containing "/").
 */
export async function netnsCreate(name: string): Promise<string> {
  return call('netnsCreate', () => addon().netnsCreate(name));
}
/**
 * Delete a named network namespace as `ip netns del NAME` does (lazy unmount, then unlink).
 * Throws NativeError kind FailureKind.NotFound when there is no such name; callers that want
 * idempotence catch it.
 */
export async function netnsDelete(name: string): Promise<void> {
  await call('netnsDelete', () => addon().netnsDelete(name));
}

/** Bind `path` (with the umask the caller set) and start accepting; throws when it cannot listen. */
export function agentListen(path: string, maxPayload: number, readTimeoutMs: number): Addon.AgentListener {
  return addon().agentListen(path, maxPayload, readTimeoutMs);
}

/** One exec where a caller runs: the native request, with the environment as a record and stdin as text or bytes. */
export type ExecInRequest = Omit<Addon.ExecInRequest, 'env' | 'stdin'> & { env: Record<string, string>; stdin: Uint8Array | string };

/**
 * Run a binary to completion inside `req.netns`, with `req.mntns`, `req.root` and `req.cwd`; rejects
 * with a NativeError carrying the errno when it cannot be started. For the agent's exec'd
 * delegates, which must run where the launcher ran.
 */
export async function execIn(req: ExecInRequest): Promise<Addon.ExecResult> {
  const stdin =
    typeof req.stdin === 'string'
      ? Buffer.from(req.stdin, 'utf8')
      : Buffer.from(req.stdin.buffer, req.stdin.byteOffset, req.stdin.byteLength);
  return call('execIn', () => addon().execIn({ ...req, env: Object.entries(req.env), stdin }));
}

/** Per-phase time of the native ADD path (native/core/src/phase.rs); `reset` restarts the counters. */
export function nativePhases(reset = false): PhaseTotal[] {
  return addon()
    .nativePhases(reset)
    .map((p) => ({ name: p.name, totalMs: p.totalUs / 1000, count: p.count }));
}

/** The native fault points: the steps inside the coarse native calls (test only, src/faults.ts). */
export function nativeFaultPoints(): string[] {
  return addon().nativeFaultPoints();
}

/** Version string of the loaded addon. */
export function nativeVersion(): string {
  return addon().nativeVersion();
}

// The bandwidth plugin's tc work (native/core/src/kernel/tc).
/** Shape an attachment (tbf on the host veth; IFB, ingress qdisc, redirect filter and tbf); removes what it made on failure. */
export async function bandwidthAdd(req: Addon.BandwidthRequest): Promise<Addon.BandwidthAddResult> {
  return call('bandwidthAdd', () => addon().bandwidthAdd(req));
}
/** The attachment's tbf qdiscs as the kernel has them, beside what bandwidthAdd would set. */
export async function bandwidthInspect(req: Addon.BandwidthRequest): Promise<Addon.BandwidthInspectResult> {
  return call('bandwidthInspect', () => addon().bandwidthInspect(req));
}

// --- firewall plugin (table inet fastcni-firewall) ---

/** Accept forwarding for the pod's addresses and apply its bridge's ingress policy (one batch of set elements). */
export async function firewallAdd(req: Addon.FirewallRequest): Promise<void> {
  await call('firewallAdd', () => addon().firewallAdd(req));
}
/** Remove the attachment's firewall elements, found by comment; idempotent. */
export async function firewallDel(req: Addon.FirewallDelRequest): Promise<void> {
  await call('firewallDel', () => addon().firewallDel(req));
}
/** GC of one network's firewall elements: those of attachments not in `valid`, then the network's empty sets. */
export async function firewallGc(req: Addon.NftGcRequest): Promise<void> {
  await call('firewallGc', () => addon().firewallGc(req));
}
/** What the kernel holds for an attachment's firewall request, for CHECK. */
export async function firewallInspect(req: Addon.FirewallRequest): Promise<Addon.FirewallInspection> {
  return call('firewallInspect', () => addon().firewallInspect(req));
}

// The tuning plugin: one call per command, each in the pod's namespace on a thread of its own.

/** Tuning's ADD: sysctls, then the link's attributes; a failure puts back what was changed. Resolves to the former values. */
export async function tuningApply(req: Addon.TuningRequest): Promise<Addon.TuningPrior> {
  return call('tuningApply', () => addon().tuningApply(req));
}
/** Tuning's DEL (and a failed ADD's undo): write former values back, trying every step; false when the link is gone. */
export async function tuningRestore(req: Addon.TuningRequest): Promise<boolean> {
  return call('tuningRestore', () => addon().tuningRestore(req));
}
/** Tuning's CHECK: the sysctls' values (as read) and the link's attributes (absent: no such link). */
export async function tuningInspect(req: Addon.TuningInspectRequest): Promise<Addon.TuningInspectResult> {
  return call('tuningInspect', () => addon().tuningInspect(req));
}

// The sbr plugin: one call each for ADD, DEL and CHECK, in the pod namespace on a thread of its own.
export type { SbrAddRequest, SbrAddress, SbrDelRequest, SbrInspectRequest, SbrRule, SbrRuleState } from '../native/addon/index.js';

/** Source-based routing for a pod interface (rules, tables, routes; undone on a failure); the rules added. */
export async function sbrAdd(req: Addon.SbrAddRequest): Promise<Addon.SbrRule[]> {
  return call('sbrAdd', () => addon().sbrAdd(req));
}

/** Remove a pod interface's source-based routing; the rules removed. NativeError kind netnsGone when the namespace is gone. */
export async function sbrDel(req: Addon.SbrDelRequest): Promise<Addon.SbrRule[]> {
  return call('sbrDel', () => addon().sbrDel(req));
}

/** A pod interface's source rules and the routes of their tables through it, for CHECK. */
export async function sbrInspect(req: Addon.SbrInspectRequest): Promise<Addon.SbrRuleState[]> {
  return call('sbrInspect', () => addon().sbrInspect(req));
}

// portmap: host ports in nf_tables maps (native/core/src/kernel/nft/portmap.rs).
export type {
  PortMapping as NativePortMapping,
  PortmapCondition,
  PortmapRequest,
  PortmapAddResult,
  PortmapEntry,
} from '../native/addon/index.js';

/** Map an attachment's host ports (one nf_tables batch), flush their UDP conntrack entries, set route_localnet. */
export async function portmapAdd(req: Addon.PortmapRequest): Promise<Addon.PortmapAddResult> {
  return call('portmapAdd', () => addon().portmapAdd(req));
}
/** Remove the attachment's portmap elements (by key, or found by their comment); idempotent. */
export async function portmapDel(req: Addon.PortmapRequest): Promise<void> {
  await call('portmapDel', () => addon().portmapDel(req));
}
/** CHECK of an attachment's portmap elements: the problems found, one line each (empty: all there). */
export async function portmapCheck(req: Addon.PortmapRequest): Promise<string[]> {
  return call('portmapCheck', () => addon().portmapCheck(req));
}
/** GC of one network's portmap elements: those of attachments not in `valid` go. */
export async function portmapGc(req: Addon.NftGcRequest): Promise<void> {
  await call('portmapGc', () => addon().portmapGc(req));
}
/** List portmap elements (all networks, or one). */
export async function portmapList(hostNetns?: string, network?: string): Promise<Addon.PortmapEntry[]> {
  return call('portmapList', () => addon().portmapList(hostNetns ?? null, network ?? null));
}

// ptp: a veth pair with no bridge, the pod routed through its gateway (native/core/src/kernel/ptp.rs).
export type { PtpAddress, PtpLinks, PtpVethRequest, PtpWireRequest } from '../native/addon/index.js';

/** ptp's ADD before IPAM: the veth pair (nothing left on failure). */
export async function ptpVeth(req: Addon.PtpVethRequest): Promise<Addon.PtpLinks> {
  return call('ptpVeth', () => addon().ptpVeth(req));
}
/** ptp's ADD after IPAM: both ends configured, forwarding, masquerade (removed again on failure; the veth is the caller's to delete). Its DEL is bridgeDel. */
export async function ptpWire(req: Addon.PtpWireRequest): Promise<Addon.PtpLinks> {
  return call('ptpWire', () => addon().ptpWire(req));
}

// ---- ConfigureIface in the pod, after IPAM, for the plugins that make or move the link before it
// (macvlan, ipvlan, vlan, host-device, tap, dummy; native/core/src/kernel/iface.rs) ----

export type { PodIfaceConfigureRequest } from '../native/addon/index.js';

/** In the pod: ConfigureIface with `iface`, else the link only brought up; the link afterwards. */
export async function podIfaceConfigure(req: Addon.PodIfaceConfigureRequest): Promise<Addon.LinkInfo> {
  return call('podIfaceConfigure', () => addon().podIfaceConfigure(req));
}

// ---- the tap, dummy and vrf plugins (their DEL of a link is linkDel) ----

export type { DummyRequest, TapRequest, VrfAddRequest, VrfDelRequest } from '../native/addon/index.js';

/** tap's link, before IPAM: the tap made, renamed, enslaved and set up in the pod. */
export async function tapAdd(req: Addon.TapRequest): Promise<Addon.LinkInfo> {
  return call('tapAdd', () => addon().tapAdd(req));
}

/** dummy's link, before IPAM: the dummy link made in the pod, left down. */
export async function dummyAdd(req: Addon.DummyRequest): Promise<Addon.LinkInfo> {
  return call('dummyAdd', () => addon().dummyAdd(req));
}

/** vrf's ADD: the interface moved into the VRF; resolves to the VRF's table. */
export async function vrfAdd(req: Addon.VrfAddRequest): Promise<number> {
  return call('vrfAdd', () => addon().vrfAdd(req));
}

/** vrf's DEL: the interface released; resolves to whether the VRF, left empty, was deleted. */
export async function vrfDel(req: Addon.VrfDelRequest): Promise<boolean> {
  return call('vrfDel', () => addon().vrfDel(req));
}

// macvlan, ipvlan and vlan: a link on a master made into the pod, its deletion and CHECK's view
// (native/core/src/kernel/sublink.rs).
export type {
  SublinkAddRequest,
  SublinkAddResult,
  SublinkInspectRequest,
  SublinkInspectResult,
  SublinkSpec,
  SublinkState,
} from '../native/addon/index.js';

/** The kind of link a sublink plugin makes: SublinkSpec's `kind`. */
export const SublinkKind = lazyEnum('SublinkKind');
export type SublinkKind = Addon.SublinkKind;

/** Create the link on its master straight into the pod, renamed to `ifname` there; left down. */
export async function sublinkAdd(req: Addon.SublinkAddRequest): Promise<Addon.SublinkAddResult> {
  return call('sublinkAdd', () => addon().sublinkAdd(req));
}
/** Delete the pod's link; false when it was gone. NativeError kind netnsGone when the namespace is gone. */
export async function sublinkDel(podNetns: string, ifname: string): Promise<boolean> {
  return call('sublinkDel', () => addon().sublinkDel(podNetns, ifname));
}
/** The master (found or not) and the pod's link with its kind facts, addresses and the pod's routes. */
export async function sublinkInspect(req: Addon.SublinkInspectRequest): Promise<Addon.SublinkInspectResult> {
  return call('sublinkInspect', () => addon().sublinkInspect(req));
}

// host-device: a node device moved into the pod and back (native/core/src/kernel/hostdev.rs).
export type {
  HostDeviceAddRequest,
  HostDeviceAddResult,
  HostDeviceDelRequest,
  HostDeviceDelResult,
  HostDeviceRecoverResult,
  HostDeviceSelector,
} from '../native/addon/index.js';

/** Move a node device (by name or MAC) into the pod as `ifname`, through a temporary namespace; undone on a failure. */
export async function hostDeviceAdd(req: Addon.HostDeviceAddRequest): Promise<Addon.HostDeviceAddResult> {
  return call('hostDeviceAdd', () => addon().hostDeviceAdd(req));
}
/** Move the pod's `ifname` back to the node under its ifalias; NativeError kind netnsGone when the pod is gone. */
export async function hostDeviceDel(req: Addon.HostDeviceDelRequest): Promise<Addon.HostDeviceDelResult> {
  return call('hostDeviceDel', () => addon().hostDeviceDel(req));
}
/** Move every device a killed move left in the temporary namespace pinned at `pin` back to the node, then unpin it. */
export async function hostDeviceRecover(req: Addon.HostDeviceRecoverRequest): Promise<Addon.HostDeviceRecoverResult> {
  return call('hostDeviceRecover', () => addon().hostDeviceRecover(req));
}

// The dhcp daemon: one call per DHCP exchange, in the pod namespace on a thread of its own
// (native/core/src/kernel/dhcp.rs).
export type { DhcpAnswer, DhcpLease, DhcpOptionValue, DhcpRequest, DhcpRoute } from '../native/addon/index.js';
/** Which exchange a DhcpRequest asks for. */
export const DhcpExchange = lazyEnum('DhcpExchange');
export type DhcpExchange = Addon.DhcpExchange;

/** One DHCP exchange (acquire, renew, rebind, release) on a pod interface. */
export async function dhcpExchange(req: Addon.DhcpRequest): Promise<Addon.DhcpAnswer> {
  return call('dhcpExchange', () => addon().dhcpExchange(req));
}

// The overlay between nodes, for the cluster controller: one coarse reconcile with the whole peer
// set, and its teardown (native/core/src/kernel/overlay).
export type { OverlayPeer, OverlayRequest, OverlayState } from '../native/addon/index.js';

/** Reconcile the node's overlay (host-gw routes, or the vxlan device with its FDB, neighbour and route per peer) with the complete peer set; idempotent. */
export async function overlaySync(req: Addon.OverlayRequest): Promise<Addon.OverlayState> {
  return call('overlaySync', () => addon().overlaySync(req));
}

/** Remove every route of ours and the vxlan device (only `hostNetns` and `device` are read). */
export async function overlayTeardown(req: Addon.OverlayRequest): Promise<Addon.OverlayState> {
  return call('overlayTeardown', () => addon().overlayTeardown(req));
}
