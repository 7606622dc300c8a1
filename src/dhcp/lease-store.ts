// The dhcp daemon's leases on disk: one JSON file per lease in the state directory, named by a hash
// of the client ID, written by rename from a temporary file, so that a restarted daemon finds every
// lease it held and goes on renewing (and can release) it. The reference keeps leases only in memory.
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileIn } from '../spec/file-name.js';
import type { DhcpLease, DhcpOptionValue } from '../native.js';
import type { LeaseKey } from './protocol.js';

/** Default state directory: on tmpfs, as pod namespaces are, so a reboot forgets both. */
export const DEFAULT_STATE_DIR = '/run/cni/dhcp';

/** One lease as the daemon keeps it. */
export interface StoredLease extends LeaseKey {
  clientId: string;
  /** the pod namespace as the runtime named it */
  netnsPath: string;
  request: number[];
  provide: DhcpOptionValue[];
  lease: DhcpLease;
  /** when the last ACK arrived (ms since the epoch): T1, T2 and expiry count from here */
  boundAt: number;
}

export class LeaseStore {
  constructor(readonly dir: string) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  }

  private file(clientId: string): string {
    return fileIn(this.dir, `${createHash('sha256').update(clientId).digest('hex').slice(0, 32)}.json`, 'client ID');
  }

  save(l: StoredLease): void {
    const path = this.file(l.clientId);
    const tmp = `${path}.tmp`;
    writeFileSync(tmp, JSON.stringify(l));
    renameSync(tmp, path);
  }

  remove(clientId: string): void {
    rmSync(this.file(clientId), { force: true });
  }

  /** Every stored lease; a file that does not parse is reported and removed. */
  loadAll(onBad: (file: string, why: string) => void): StoredLease[] {
    const out: StoredLease[] = [];
    for (const name of readdirSync(this.dir)) {
      const path = join(this.dir, name);
      if (!name.endsWith('.json')) {
        if (name.endsWith('.tmp')) rmSync(path, { force: true });
        continue;
      }
      try {
        const l = JSON.parse(readFileSync(path, 'utf8')) as StoredLease;
        if (typeof l.clientId !== 'string' || typeof l.lease?.address !== 'string' || typeof l.boundAt !== 'number')
          throw new Error('not a lease');
        out.push(l);
      } catch (e) {
        onBad(path, e instanceof Error ? e.message : String(e));
        rmSync(path, { force: true });
      }
    }
    return out;
  }
}
