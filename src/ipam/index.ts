// The IPAM toolkit: reference-compatible host-local store and allocator, the flock wrapper, and
// delegation to IPAM plugins.
export { withLock } from './lock.js';
export { DiskStore, StoreTransaction, type Owner } from './store.js';
export { DirIndex, INDEX_FILE, dropIndexCache, type IndexSource } from './dir-index.js';
export { allocate, allocateIn, release, candidates, type Allocation } from './allocator.js';
export {
  canonicalizeRange,
  canonicalizeRangeSet,
  rangeContains,
  rangeFor,
  rangeSetString,
  rangeSetsOverlap,
  RangeConfigError,
  type Range,
  type RangeInput,
  type RangeSet,
} from './ranges.js';
export { parseIp, parseCidr, formatIp, formatCidr, type Ip, type Cidr } from '../net/ip.js';
export { ipamAdd, ipamDel, ipamCheck, ipamGc, ipamStatus, type DelegateCommand, type DelegateContext } from './delegate.js';
// plugin lookup lives in the runtime; kept here for the callers of this surface
export { findInPath, isOurPlugin, PLUGIN_MARKER } from '../runtime/plugin-lookup.js';
