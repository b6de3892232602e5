import { clusterView, type HostNetworks, keyOf, type LocalNetwork, localSegment, plan, removedKeys, validateHostNetworks } from '../../../src/network/clusterNetworks';

const def = (name: string, subnet: string, at: number) => ({ name, subnet, ipamDriver: 'weft', internal: false, at });
const local = (name: string, subnet: string, containers = 0): LocalNetwork => ({ name, containers, def: { name, subnet, ipamDriver: 'weft', internal: false } });

test('a network created on one host is created on the others', () => {
  const h1: HostNetworks = { networks: [def('app', '10.50.0.0/24', 100)], removed: [] };
  const h3: HostNetworks = { networks: [], removed: [] };
  const view = clusterView([h1, h3]);
  expect([...view.keys()]).toEqual(['app|10.50.0.0/24']);
  expect(plan([], view, removedKeys([h1, h3]))).toEqual({ create: [def('app', '10.50.0.0/24', 100)], remove: [] });
  // h3 created it: its segment keeps the original time
  expect(localSegment([local('app', '10.50.0.0/24')], h3, view, 500).networks[0].at).toBe(100);
});

test('a removal by a user follows, once the host has no containers on it', () => {
  const h1prev: HostNetworks = { networks: [def('app', '10.50.0.0/24', 100)], removed: [] };
  const h3: HostNetworks = { networks: [def('app', '10.50.0.0/24', 100)], removed: [] };
  const view = clusterView([h1prev, h3]);
  const h1 = localSegment([], h1prev, view, 200);
  expect(h1.removed).toEqual([{ name: 'app', subnet: '10.50.0.0/24', at: 200 }]);
  const after = [h1, h3];
  expect(clusterView(after).size).toBe(0);
  expect(plan([local('app', '10.50.0.0/24', 2)], clusterView(after), removedKeys(after)).remove).toEqual([]);
  expect(plan([local('app', '10.50.0.0/24', 0)], clusterView(after), removedKeys(after)).remove).toEqual(['app']);
  // once removed everywhere, nothing new is recorded
  expect(localSegment([], { networks: [def('app', '10.50.0.0/24', 100)], removed: [] }, clusterView(after), 300).removed).toEqual([]);
});

test('re-created after a removal, it exists again; views agree whatever the order of hosts', () => {
  const a: HostNetworks = { networks: [], removed: [{ name: 'app', subnet: '10.50.0.0/24', at: 200 }] };
  const b: HostNetworks = { networks: [def('app', '10.50.0.0/24', 300)], removed: [] };
  const c: HostNetworks = { networks: [def('app', '10.50.0.0/24', 100)], removed: [] };
  const v1 = clusterView([a, b, c]);
  const v2 = clusterView([c, b, a]);
  expect([...v1.entries()]).toEqual([...v2.entries()]);
  expect(v1.has(keyOf({ name: 'app', subnet: '10.50.0.0/24' }))).toBe(true);
});

test('a name taken locally by another subnet is not touched', () => {
  const view = clusterView([{ networks: [def('app', '10.50.0.0/24', 1)], removed: [] }]);
  expect(plan([local('app', '10.60.0.0/24')], view, new Set()).create).toEqual([]);
});

test('segments from the wire are validated', () => {
  expect(validateHostNetworks({ networks: [def('app', '10.50.0.0/24', 1)], removed: [] }).networks).toHaveLength(1);
  expect(validateHostNetworks({ networks: [{ ...def('app', '10.50.0.0/24', 1), mode: 'routed' }], removed: [] }).networks[0].mode).toBe('routed');
  expect(() => validateHostNetworks({ networks: [{ ...def('app', '10.50.0.0/24', 1), mode: 'tunnel' }], removed: [] })).toThrow();
  for (const bad of [null, {}, { networks: [{ name: 'x' }], removed: [] }, { networks: [def('a', 'nope', 1)], removed: [] }, { networks: [], removed: [{ name: 1 }] }]) {
    expect(() => validateHostNetworks(bad)).toThrow();
  }
});

test('a copy that lands after the removal keeps the copied time, so the removal still wins', () => {
  const h1: HostNetworks = { networks: [], removed: [{ name: 'app', subnet: '10.50.0.0/24', at: 200 }] };
  const h2prev: HostNetworks = { networks: [], removed: [] };
  // h2 began creating app (at 100) before the removal reached it; Docker lists it only now
  const view = clusterView([h1, h2prev]);
  const h2 = localSegment([{ ...local('app', '10.50.0.0/24'), copiedAt: 100 }], h2prev, view, 300);
  expect(h2.networks[0].at).toBe(100);
  expect(clusterView([h1, h2]).size).toBe(0);
  expect(plan([local('app', '10.50.0.0/24')], clusterView([h1, h2]), removedKeys([h1, h2])).remove).toEqual(['app']);
  // without the copy's time it would have read as created by a user after the removal
  expect(clusterView([h1, localSegment([local('app', '10.50.0.0/24')], h2prev, view, 300)]).size).toBe(1);
});
