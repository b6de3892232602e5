import { computePaths, nextHop, samePaths } from '../../../src/dataplane/paths';

const [A, B, C, D] = ['a', 'b', 'c', 'd'].map((x) => x.repeat(16));

describe('computePaths', () => {
  const base = {
    peers: [B, C, D],
    direct: new Set([B, C]),
    fastdp: true,
    fastdpWorks: (p: string) => p === B,
    neighboursOf: (p: string) => (p === C ? new Set([A, D]) : p === B ? new Set([A, D]) : undefined),
  };

  test('direct peers: fastdp when the probes come back, else sleeve', () => {
    const m = computePaths(base);
    expect(m.get(B)).toEqual({ mode: 'fastdp' });
    expect(m.get(C)).toEqual({ mode: 'sleeve' });
  });

  test('fastdp off here: every direct peer is sleeve', () => {
    expect(computePaths({ ...base, fastdp: false }).get(B)).toEqual({ mode: 'sleeve' });
  });

  test('a peer we do not hear is relayed through the first neighbour (by id) that hears it', () => {
    expect(computePaths(base).get(D)).toEqual({ mode: 'relay', via: B });
    expect(computePaths({ ...base, direct: new Set([C]) }).get(D)).toEqual({ mode: 'relay', via: C });
  });

  test('nobody hears it: unreachable', () => {
    expect(computePaths({ ...base, neighboursOf: () => undefined }).get(D)).toEqual({ mode: 'unreachable' });
    expect(computePaths({ ...base, direct: new Set() }).get(D)).toEqual({ mode: 'unreachable' });
  });

  test('a peer is never its own relay', () => {
    expect(computePaths({ ...base, peers: [D], direct: new Set([D]), fastdpWorks: () => false }).get(D)).toEqual({ mode: 'sleeve' });
  });
});

describe('samePaths and nextHop', () => {
  test('compares mode and relay', () => {
    const a = new Map([[B, { mode: 'relay' as const, via: C }]]);
    expect(samePaths(a, new Map([[B, { mode: 'relay' as const, via: C }]]))).toBe(true);
    expect(samePaths(a, new Map([[B, { mode: 'relay' as const, via: D }]]))).toBe(false);
    expect(samePaths(a, new Map([[B, { mode: 'sleeve' as const }]]))).toBe(false);
    expect(samePaths(a, new Map())).toBe(false);
    expect(samePaths(new Map([[C, { mode: 'sleeve' as const }]]), new Map([[B, { mode: 'sleeve' as const }]]))).toBe(false);
  });
  test('next hop: itself, its relay, or nobody', () => {
    expect(nextHop({ mode: 'fastdp' }, B)).toBe(B);
    expect(nextHop({ mode: 'sleeve' }, B)).toBe(B);
    expect(nextHop({ mode: 'relay', via: C }, B)).toBe(C);
    expect(nextHop({ mode: 'unreachable' }, B)).toBeUndefined();
    expect(nextHop(undefined, B)).toBeUndefined();
  });
});
