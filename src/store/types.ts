/**
 * weft's durable state: named collections of JSON records keyed by string.
 * `C` maps collection names to record types, so the store knows nothing of
 * networks or pools. Operations are synchronous (better-sqlite3 is), which
 * makes each plugin call's read-modify-write atomic on Node's one thread;
 * `transaction` groups several writes so a crash keeps all or none.
 */
export type Collections = Record<string, unknown>;

export interface Store<C extends Collections> {
  get<K extends keyof C & string>(collection: K, key: string): C[K] | undefined;
  all<K extends keyof C & string>(collection: K): Array<[string, C[K]]>;
  put<K extends keyof C & string>(collection: K, key: string, value: C[K]): void;
  delete<K extends keyof C & string>(collection: K, key: string): void;
  /** runs fn atomically: every write inside lands, or none (fn throws) */
  transaction<T>(fn: () => T): T;
  close(): void;
}
