// A small undo stack for handlers: each step that changes the world registers how to reverse it; on
// failure the steps run in reverse and the original error is rethrown.

/** Undo steps collected during one operation. */
export interface Rollback {
  /** Register an undo action for a step that has just succeeded. */
  push(undo: () => unknown): void;
}

/**
 * Run `body`; if it throws, run every registered undo newest first (their own failures are reported
 * through `log` and never hide the original error) and rethrow.
 */
export async function withRollback<T>(body: (rb: Rollback) => Promise<T>, log: (line: string) => void = () => {}): Promise<T> {
  const undos: Array<() => unknown> = [];
  try {
    return await body({ push: (u) => void undos.push(u) });
  } catch (e) {
    for (const undo of undos.reverse()) {
      try {
        await undo();
      } catch (undoError) {
        log(`rollback step failed: ${undoError instanceof Error ? undoError.message : String(undoError)}`);
      }
    }
    throw e;
  }
}
