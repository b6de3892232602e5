/** The in-memory twin of the SQLite store, with the same all-or-nothing transactions (for unit tests). */
import type { Collections, Store } from './types';

export class MemoryStore<C extends Collections> implements Store<C> {
  private data = new Map<string, Map<string, string>>();
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
    // stored as JSON so callers cannot mutate stored records by reference, as with SQLite
    this.coll(collection).set(key, JSON.stringify(value));
  }

  delete<K extends keyof C & string>(collection: K, key: string): void {
    this.coll(collection).delete(key);
  }

  transaction<T>(fn: () => T): T {
    const snapshot = new Map([...this.data].map(([k, m]) => [k, new Map(m)]));
    try {
      return fn();
    } catch (e) {
      this.data = snapshot;
      throw e;
    }
  }

  close(): void {
    this.closed = true;
  }
}
