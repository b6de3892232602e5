import { type ClusterEndpoint, KnownSince } from '../../../src/network/endpointTable';

const ep = (host: string, id: string): ClusterEndpoint => ({ host, id, subnet: '10.32.0.0/12', ip: '10.32.0.5', mac: '02:00:00:00:00:01' });
const A = 'aa:aa:aa:aa:aa:aa';
const B = 'bb:bb:bb:bb:bb:bb';

describe('KnownSince', () => {
  it('keeps the time an endpoint was first seen across later updates', () => {
    const k = new KnownSince();
    k.update([ep(A, '1')], 100);
    k.update([ep(A, '1'), ep(A, '2')], 250);
    expect(k.get(ep(A, '1'))).toBe(100);
    expect(k.get(ep(A, '2'))).toBe(250);
  });

  it('forgets an endpoint that left, so its return counts as new', () => {
    const k = new KnownSince();
    k.update([ep(A, '1')], 100);
    k.update([], 200);
    expect(k.get(ep(A, '1'))).toBeUndefined();
    k.update([ep(A, '1')], 300);
    expect(k.get(ep(A, '1'))).toBe(300);
  });

  it('tells the same endpoint id under two hosts apart', () => {
    const k = new KnownSince();
    k.update([ep(A, '1')], 100);
    k.update([ep(A, '1'), ep(B, '1')], 400);
    expect(k.get(ep(A, '1'))).toBe(100);
    expect(k.get(ep(B, '1'))).toBe(400);
    k.update([ep(B, '1')], 500);
    expect(k.get(ep(A, '1'))).toBeUndefined();
    expect(k.get(ep(B, '1'))).toBe(400);
  });

  it('knows nothing it was not told', () => {
    expect(new KnownSince().get(ep(A, '1'))).toBeUndefined();
  });
});
