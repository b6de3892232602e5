import type { ClusterEndpoint } from '../../../src/network/endpointTable';
import { type OverlayNetwork, type Path, planNetwork, resolve } from '../../../src/dataplane/plan';

const A = 'aaaaaaaaaaaaaaaa';
const B = 'bbbbbbbbbbbbbbbb';
const C = 'cccccccccccccccc';
const SUBNET = '10.32.0.0/16';
const net: OverlayNetwork = { id: 'n1', subnet: SUBNET, vni: 0x123456, vxlan: 'wfvn1', tap: 'wftn1', gateway: '10.32.0.1' };
const ips: Record<string, string> = { [A]: '192.168.91.1', [B]: '192.168.91.2', [C]: '192.168.91.3' };

const ep = (host: string, n: number, extra: Partial<ClusterEndpoint> = {}): ClusterEndpoint => ({
  id: `e${host[0]}${n}`, subnet: SUBNET, ip: `10.32.0.${n}`, mac: `02:42:0a:20:00:${n.toString(16).padStart(2, '0')}`, host, since: 1000, ...extra,
});

function plan(endpoints: ClusterEndpoint[], paths: Record<string, Path>, o: { network?: OverlayNetwork; hosts?: string[] } = {}) {
  return planNetwork({
    self: A,
    network: o.network ?? net,
    endpoints,
    path: (p) => paths[p] ?? { mode: 'unreachable' },
    underlayIp: (p) => ips[p],
    hostsOfSubnet: new Set(o.hosts ?? [A, B, C]),
  });
}

describe('planNetwork', () => {
  const fast: Path = { mode: 'fastdp' };
  const sleeve: Path = { mode: 'sleeve' };

  test('fast-path peers: VXLAN entries, proxy ARP, bridge entries on the VXLAN port, flooding by head-end replication', () => {
    const p = plan([ep(A, 2), ep(B, 3), ep(C, 4)], { [B]: fast, [C]: fast });
    expect([...p.vxlanMacs]).toEqual([['02:42:0a:20:00:03', ips[B]], ['02:42:0a:20:00:04', ips[C]]]);
    expect([...p.neighbours]).toEqual([['10.32.0.3', '02:42:0a:20:00:03'], ['10.32.0.4', '02:42:0a:20:00:04']]);
    expect([...p.ports.values()]).toEqual(['vxlan', 'vxlan']);
    expect(p.flood).toEqual([ips[B], ips[C]]);
    expect(p.sleeveMacs.size + p.sleeveFlood.length + p.arp.size).toBe(0);
  });

  test('our own endpoints get no entries, but are announced like everyone', () => {
    const p = plan([ep(A, 2)], { [B]: fast });
    expect(p.vxlanMacs.size + p.ports.size + p.neighbours.size).toBe(0);
    expect([...p.addresses]).toEqual([['10.32.0.2', '02:42:0a:20:00:02']]);
  });

  test('sleeve and relay peers: bridge entries on the TAP, the sleeve table, ARP answered by weft', () => {
    const p = plan([ep(B, 3), ep(C, 4)], { [B]: sleeve, [C]: { mode: 'relay', via: B } });
    expect([...p.ports.values()]).toEqual(['tap', 'tap']);
    expect([...p.sleeveMacs]).toEqual([['02:42:0a:20:00:03', B], ['02:42:0a:20:00:04', C]]);
    expect([...p.arp.keys()]).toEqual(['10.32.0.3', '10.32.0.4']);
    expect(p.sleeveFlood).toEqual([B, C]);
    expect(p.vxlanMacs.size + p.neighbours.size + p.flood.length).toBe(0);
  });

  test('mixed paths split per peer', () => {
    const p = plan([ep(B, 3), ep(C, 4)], { [B]: fast, [C]: sleeve });
    expect(p.ports.get('02:42:0a:20:00:03')).toBe('vxlan');
    expect(p.ports.get('02:42:0a:20:00:04')).toBe('tap');
    expect(p.flood).toEqual([ips[B]]);
    expect(p.sleeveFlood).toEqual([C]);
  });

  test('without a local VXLAN device a fast path is treated as sleeve', () => {
    const { vxlan: _none, ...noVxlan } = net;
    const p = plan([ep(B, 3)], { [B]: fast }, { network: noVxlan });
    expect(p.ports.get('02:42:0a:20:00:03')).toBe('tap');
    expect(p.flood).toEqual([]);
  });

  test('unreachable peers get nothing; peers without the network get no broadcast', () => {
    const p = plan([ep(B, 3), ep(C, 4)], { [B]: fast }, { hosts: [A, C] });
    expect([...p.ports.keys()]).toEqual(['02:42:0a:20:00:03']);
    expect(p.flood).toEqual([]);
    expect(p.sleeveFlood).toEqual([]);
  });

  test('other subnets and the gateway address are left out', () => {
    const p = plan([ep(B, 3, { subnet: '10.33.0.0/16' }), ep(B, 1)], { [B]: fast });
    expect([...p.ports.keys()]).toEqual(['02:42:0a:20:00:01']);
    expect(p.neighbours.size).toBe(0);
    expect(p.addresses.size).toBe(0);
  });

  test('a move in flight: the newer endpoint wins the IP, the old MAC keeps its own entry until withdrawn', () => {
    const old = ep(B, 5, { mac: '02:42:00:00:00:0b', since: 1000 });
    const moved = ep(C, 5, { mac: '02:42:00:00:00:0c', since: 2000 });
    for (const order of [[old, moved], [moved, old]]) {
      const p = plan(order, { [B]: fast, [C]: fast });
      expect(p.neighbours.get('10.32.0.5')).toBe('02:42:00:00:00:0c');
      expect(p.addresses.get('10.32.0.5')).toBe('02:42:00:00:00:0c');
      expect(p.vxlanMacs.get('02:42:00:00:00:0c')).toBe(ips[C]);
    }
  });

  test('an older claim to a MAC loses; arp only for the winning MAC', () => {
    const p = plan([ep(B, 5, { since: 3000 }), ep(C, 5, { since: 2000 })], { [B]: sleeve, [C]: sleeve });
    expect(p.sleeveMacs.get('02:42:0a:20:00:05')).toBe(B);
    expect(p.arp.get('10.32.0.5')).toBe('02:42:0a:20:00:05');
  });
});

describe('resolve', () => {
  test('ours beats a newer remote claim', () => {
    const r = resolve(A, [ep(B, 5, { since: 9000 }), ep(A, 5, { since: 1 })]);
    expect(r.byMac.get('02:42:0a:20:00:05')!.host).toBe(A);
    expect(r.byIp.get('10.32.0.5')!.host).toBe(A);
  });
  test('equal times: the larger host id, whatever the order', () => {
    for (const order of [[ep(B, 5), ep(C, 5)], [ep(C, 5), ep(B, 5)]]) expect(resolve(A, order).byIp.get('10.32.0.5')!.host).toBe(C);
  });
  test('a missing time counts as the oldest', () => {
    const { since: _s, ...noTime } = ep(C, 5);
    expect(resolve(A, [ep(B, 5, { since: 1 }), noTime]).byIp.get('10.32.0.5')!.host).toBe(B);
  });
});
