/**
 * `get --watch` in table form prints a row per real change, as kubectl does: an event whose row
 * reads the same as the row last printed for that object (a status write that changed nothing
 * shown, a bookmark-like MODIFIED) prints nothing, and a deletion (a run pruned by the history
 * limit, a deleted job) prints the object's last row with a marker.
 */
export const DELETED_MARKER = '(deleted)';

export type WatchVerdict = 'changed' | 'unchanged' | 'deleted';

export class WatchRows<T extends { metadata: { name: string } }> {
  private readonly last = new Map<string, string>();

  /** `key` renders what a row shows; it must not depend on the wall clock (ages, durations). */
  constructor(private readonly key: (obj: T) => string) {}

  /** The rows already printed by the listing that precedes the watch. */
  seed(items: readonly T[]): void {
    for (const o of items) this.last.set(o.metadata.name, this.key(o));
  }

  /** Whether an event is to be printed, and how. */
  next(type: 'ADDED' | 'MODIFIED' | 'DELETED', obj: T): WatchVerdict {
    const name = obj.metadata.name;
    if (type === 'DELETED') {
      this.last.delete(name);
      return 'deleted';
    }
    const k = this.key(obj);
    if (this.last.get(name) === k) return 'unchanged';
    this.last.set(name, k);
    return 'changed';
  }
}
