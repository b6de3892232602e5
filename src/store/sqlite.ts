/**
 * The store on SQLite (better-sqlite3): one table of (collection, key, JSON).
 * WAL with synchronous=NORMAL: a commit that returned survives kill -9 (it is in
 * the WAL, which the OS holds); a power cut may lose the last commits. FULL
 * (an fsync per plugin call) doubled CreateEndpoint+Join latency (npm run bench).
 */
import Database from 'better-sqlite3';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Collections, Store } from './types';

export class SqliteStore<C extends Collections> implements Store<C> {
  private readonly db: Database.Database;
  private readonly stmts: {
    get: Database.Statement<[string, string], { value: string }>;
    all: Database.Statement<[string], { key: string; value: string }>;
    put: Database.Statement<[string, string, string]>;
    del: Database.Statement<[string, string]>;
  };

  constructor(file: string) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.exec(`CREATE TABLE IF NOT EXISTS records (
      collection TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,
      PRIMARY KEY (collection, key)) WITHOUT ROWID`);
    this.stmts = {
      get: this.db.prepare('SELECT value FROM records WHERE collection = ? AND key = ?'),
      all: this.db.prepare('SELECT key, value FROM records WHERE collection = ? ORDER BY key'),
      put: this.db.prepare('INSERT OR REPLACE INTO records (collection, key, value) VALUES (?, ?, ?)'),
      del: this.db.prepare('DELETE FROM records WHERE collection = ? AND key = ?'),
    };
  }

  get<K extends keyof C & string>(collection: K, key: string): C[K] | undefined {
    const row = this.stmts.get.get(collection, key);
    return row ? (JSON.parse(row.value) as C[K]) : undefined;
  }

  all<K extends keyof C & string>(collection: K): Array<[string, C[K]]> {
    return this.stmts.all.all(collection).map((r) => [r.key, JSON.parse(r.value) as C[K]]);
  }

  put<K extends keyof C & string>(collection: K, key: string, value: C[K]): void {
    this.stmts.put.run(collection, key, JSON.stringify(value));
  }

  delete<K extends keyof C & string>(collection: K, key: string): void {
    this.stmts.del.run(collection, key);
  }

  transaction<T>(fn: () => T): T {
    // better-sqlite3 nests inner transactions as savepoints
    return this.db.transaction(fn)();
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
