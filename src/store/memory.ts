/** The in-memory twin of the SQLite store, with the same all-or-nothing transactions (for unit tests). */
import type { Collections, Store } from './types';

export class MemoryStore<C extends Collections> implements Store<C> {
  private readonly data = new Map<string, Map<string, string>>();
  /** inside a transaction: what each write replaced, to put back if it throws (O(writes), not O(store)) */
  private undo: Array<[Map<string, string>, string, string | undefined]> | undefined;
  closed = false;

  private coll(name: string): Map<string, string> {
    let m = this.data.get(name);
    if (!m) this.data.set(name, (m = new Map()));
    return m;
  }

  get<K extends keyof C & string>(collection: K, key: string): C[K] | undefined {
    const v = this.coll(collection).get(key);
    return v === undefined ? undefined : (JSON.parse(v) as C[K]);
  }

  all<K extends keyof C & string>(collection: K): Array<[string, C[K]]> {
    return [...this.coll(collection).entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([k, v]) => [k, JSON.parse(v) as C[K]]);
  }

  put<K extends keyof C & string>(collection: K, key: string, value: C[K]): void {
    const m = this.coll(collection);
    this.undo?.push([m, key, m.get(key)]);
    // stored as JSON so callers cannot mutate stored records by reference, as with SQLite
    m.set(key, JSON.stringify(value));
  }

  delete<K extends keyof C & string>(collection: K, key: string): void {
    const m = this.coll(collection);
    this.undo?.push([m, key, m.get(key)]);
    m.delete(key);
  }

  /** all or nothing; a nested one that throws undoes only its own writes, as a SQLite savepoint does */
  transaction<T>(fn: () => T): T {
    const outer = this.undo === undefined;
    const undo = (this.undo ??= []);
    const mark = undo.length;
    try {
      return fn();
    } catch (e) {
      for (let i = undo.length - 1; i >= mark; i--) {
        const [m, key, prev] = undo[i];
        if (prev === undefined) m.delete(key);
        else m.set(key, prev);
      }
      undo.length = mark;
      throw e;
    } finally {
      if (outer) this.undo = undefined;
    }
  }

  close(): void {
    this.closed = true;
  }
}
