// Whether host-local keeps spare files ready for its next reservations (see DiskStore.refillSpares).
// A module of its own, without dependencies, so a process can turn it off without loading the store.
let on = true;

/**
 * Turn spares off or on. Off for a process that exits after one plugin call (the fallback path),
 * which would only wait for the files before it exits, and for tests of the index's exact records.
 */
export function setSpareRefills(enabled: boolean): void {
  on = enabled;
}

export function spareRefillsOn(): boolean {
  return on;
}
