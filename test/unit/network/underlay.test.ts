import type { LinkInfo } from '../../../src/netlink/types';
import { deriveMtu, underlayAddress, underlayLink } from '../../../src/network/underlay';

const link = (index: number, name: string, mtu: number, extra: Partial<LinkInfo> = {}): LinkInfo => ({
  index, name, kind: 'other', mtu, mac: '02:00:00:00:00:0' + index, up: true, ...extra,
});

test('the default route names the underlay', () => {
  const links = [link(1, 'lo', 65536), link(2, 'eth0', 1500), link(3, 'eth1', 9000)];
  expect(underlayLink(links, [{ dst: '0.0.0.0/0', ifindex: 3, table: 254, protocol: 3, type: 'unicast' as const }])?.name).toBe('eth1');
  expect(deriveMtu(links, [{ dst: '0.0.0.0/0', ifindex: 3, table: 254, protocol: 3, type: 'unicast' as const }])).toBe(8950);
});

test('without a default route: the first plain up link', () => {
  const links = [link(1, 'lo', 65536), link(2, 'docker0', 1500, { kind: 'bridge' }), link(3, 'weft-abc', 1450), link(4, 'eth0', 1400, { kind: 'veth' })];
  expect(deriveMtu(links, [])).toBe(1350);
});

test('nothing usable: 1500 less the overhead, never below 576', () => {
  expect(deriveMtu([link(1, 'lo', 65536)], [])).toBe(1450);
  expect(deriveMtu([link(2, 'eth0', 600)], [])).toBe(576);
});

test('the underlay address is the first IPv4 address of the underlay link', () => {
  const links = [link(1, 'lo', 65536), link(2, 'eth0', 1500)];
  const addrs = [{ ifindex: 1, cidr: '127.0.0.1/8' }, { ifindex: 2, cidr: '192.168.91.3/24' }];
  expect(underlayAddress(links, [], addrs)).toBe('192.168.91.3');
  expect(underlayAddress([link(1, 'lo', 65536)], [], addrs)).toBeUndefined();
});
