/** The store contract, for the daemon's SQLite store and its in-memory twin alike. */
import { MemoryStore } from '../../../src/store/memory';
import { SqliteStore } from '../../../src/store/sqlite';
import type { Store } from '../../../src/store/types';
import { tmpDbs } from '../../helpers/tmpDb';

type C = { things: { n: number; tags?: string[] }; others: { s: string } };

const tmpDb = tmpDbs('weft-store-');

describe.each([
  ['memory', (): Store<C> => new MemoryStore<C>()],
  ['sqlite', (): Store<C> => new SqliteStore<C>(tmpDb())],
])('%s store', (_name, make) => {
  let store: Store<C>;
  beforeEach(() => {
    store = make();
  });
  afterEach(() => store.close());

  const boom = () => {
    throw new Error('boom');
  };

  test('put, get, all in key order, delete; records are copies', () => {
    store.put('things', 'b', { n: 2 });
    store.put('things', 'a', { n: 1, tags: ['x'] });
    store.put('others', 'a', { s: 'other collection' });
    const got = store.get('things', 'a')!;
    got.tags!.push('mutated');
    expect(store.get('things', 'a')).toEqual({ n: 1, tags: ['x'] });
    expect(store.all('things')).toEqual([['a', { n: 1, tags: ['x'] }], ['b', { n: 2 }]]);
    store.delete('things', 'a');
    store.delete('things', 'never there');
    expect(store.get('things', 'a')).toBeUndefined();
    expect(store.all('others')).toEqual([['a', { s: 'other collection' }]]);
  });

  test('a transaction that throws leaves everything as it was: new, replaced and deleted records', () => {
    store.put('things', 'kept', { n: 1 });
    store.put('things', 'gone', { n: 2 });
    expect(() => store.transaction(() => {
      store.put('things', 'new', { n: 3 });
      store.put('things', 'kept', { n: 10 });
      store.put('things', 'kept', { n: 11 });
      store.delete('things', 'gone');
      store.put('others', 'x', { s: 'y' });
      boom();
    })).toThrow('boom');
    expect(store.all('things')).toEqual([['gone', { n: 2 }], ['kept', { n: 1 }]]);
    expect(store.all('others')).toEqual([]);
  });

  test('a transaction returns its value and keeps its writes', () => {
    expect(store.transaction(() => {
      store.put('things', 'a', { n: 1 });
      return 42;
    })).toBe(42);
    expect(store.get('things', 'a')).toEqual({ n: 1 });
  });

  test('a nested transaction that throws undoes only its own writes when the outer one goes on', () => {
    store.transaction(() => {
      store.put('things', 'outer', { n: 1 });
      expect(() => store.transaction(() => {
        store.put('things', 'inner', { n: 2 });
        store.put('things', 'outer', { n: 3 });
        boom();
      })).toThrow('boom');
      store.put('things', 'after', { n: 4 });
    });
    expect(store.all('things')).toEqual([['after', { n: 4 }], ['outer', { n: 1 }]]);
  });

  test('an outer transaction that throws undoes the inner ones that succeeded', () => {
    expect(() => store.transaction(() => {
      store.transaction(() => store.put('things', 'inner', { n: 1 }));
      boom();
    })).toThrow('boom');
    expect(store.all('things')).toEqual([]);
    // and the store works normally afterwards
    store.put('things', 'later', { n: 5 });
    expect(store.all('things')).toEqual([['later', { n: 5 }]]);
  });
});
