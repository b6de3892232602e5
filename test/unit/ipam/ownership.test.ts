import { GossipRejected } from '../../../src/mesh/gossip/channel';
import { Ownership, type OwnershipCollections } from '../../../src/ipam/ownership';
import { MemoryStore } from '../../../src/store/memory';

const A = '000000000000000a';
const B = '000000000000000b';
const C = '000000000000000c';
const own = (id: string, store = new MemoryStore<OwnershipCollections>()) => new Ownership(id, store, () => 0);

test('a waiting peer adopts the ring it hears, then both merge freely', () => {
  const a = own(A);
  a.claimAll();
  const c = own(C);
  expect(c.isEmpty).toBe(true);
  expect(c.merge(a.encoded(), A)).toBeDefined();
  expect(c.owner(123)).toBe(A);
  a.transfer(C, 0, 1000);
  expect(c.merge(a.encoded(), A)).toBeDefined();
  expect(c.owns(10)).toBe(true);
  expect(a.merge(c.encoded(), C)).toBeUndefined(); // nothing new for a
  expect(a.digest().equals(c.digest())).toBe(true);
});

test('independent claims conflict even after token 0 moved on one side', () => {
  const a = own(A);
  a.claimAll();
  a.transfer(C, 0, 2 ** 31); // token 0 is C's now, version 2
  const b = own(B);
  b.claimAll();
  expect(() => b.merge(a.encoded(), A)).toThrow(GossipRejected);
  expect(() => a.merge(b.encoded(), B)).toThrow(GossipRejected);
  expect(a.conflict?.peer).toBe(B);
  expect(b.owner(5)).toBe(B);
});

test('a peer whose store was wiped and claims again conflicts with its old cluster', () => {
  const a = own(A);
  a.claimAll();
  const again = own(A);
  again.claimAll();
  expect(() => a.merge(again.encoded(), A)).toThrow(GossipRejected);
});

test('the ring and its genesis survive a restart; an empty ring from a waiting peer is no news', () => {
  const store = new MemoryStore<OwnershipCollections>();
  const a = own(A, store);
  a.claimAll();
  a.transfer(B, 100, 200);
  const restarted = own(A, store);
  expect(restarted.encoded().equals(a.encoded())).toBe(true);
  expect(restarted.merge(own(C).encoded(), C)).toBeUndefined();
  expect(() => restarted.merge(Buffer.alloc(3), C)).toThrow(GossipRejected);
});
