// Whether host-local leaves a spare staging file after each reservation (see DiskStore.refillSpare).
// A module of its own, without dependencies, so a process can turn it off without loading the store.
let on = true;

/**
 * Turn spare staging files off or on. Off for a process that exits after one plugin call (the
 * fallback path), which would only wait for the file before it exits, and for tests of the index's
 * exact records.
 */
export function setSpareRefills(enabled: boolean): void {
  on = enabled;
}

export function spareRefillsOn(): boolean {
  return on;
}
