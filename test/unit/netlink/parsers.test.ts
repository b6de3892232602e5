/** Reply parsers against hand-built kernel messages, and their behaviour on truncated or random input. */
import { decodeAddress } from '../../../src/netlink/codec/address';
import { DecodeError } from '../../../src/netlink/codec/errors';
import { cstr, encodeAttr } from '../../../src/netlink/codec/attributes';
import { IFLA_INFO_SLAVE_DATA, IFLA_INFO_SLAVE_KIND, IFLA_LINKINFO } from '../../../src/netlink/codec/constants';
import { decodeLink, encodeNewLink } from '../../../src/netlink/codec/link';
import { decodeNeighbour, encodeBridgeFdb, encodeFdb, encodeNeighbour } from '../../../src/netlink/codec/neighbour';
import { decodeRoute, encodeRoute, routeType } from '../../../src/netlink/codec/route';
import { hex } from './hex';

// an RTM_NEWLINK for a bridge port veth as the kernel sends it (abridged: unknown attributes included)
const VETH_LINK = hex(
  '00 00 01 00 07 00 00 00 43 10 01 00 00 00 00 00'  // AF_UNSPEC, ARPHRD_ETHER, index 7, UP|BROADCAST|RUNNING|MULTICAST|LOWER_UP
  + '0a 00 03 00 76 65 74 68 31 00 00 00'            // IFLA_IFNAME "veth1\0"
  + '08 00 0d 00 e8 03 00 00'                        // IFLA_TXQLEN 1000 (ignored)
  + '08 00 04 00 aa 05 00 00'                        // IFLA_MTU 1450
  + '0a 00 01 00 02 42 0a 20 00 01 00 00'            // IFLA_ADDRESS
  + '08 00 0a 00 03 00 00 00'                        // IFLA_MASTER 3
  + '08 00 29 00 00 00 01 00'                        // IFLA_GSO_MAX_SIZE 65536
  + '1c 00 12 80'                                    // IFLA_LINKINFO | NLA_F_NESTED, 28
  + '09 00 01 00 76 65 74 68 00 00 00 00'            //   IFLA_INFO_KIND "veth\0"
  + '0b 00 04 00 62 72 69 64 67 65 00 00',           //   IFLA_INFO_SLAVE_KIND "bridge\0" (ignored)
);

const VXLAN_LINK = hex(
  '00 00 01 00 09 00 00 00 02 10 00 00 00 00 00 00'  // index 9, down
  + '07 00 03 00 76 78 00 00'
  + '08 00 04 00 b2 05 00 00'                        // mtu 1458
  + '0a 00 01 00 aa bb cc dd ee ff 00 00'
  + '3c 00 12 00'                                    // LINKINFO 60
  + '0a 00 01 00 76 78 6c 61 6e 00 00 00'            //   kind "vxlan\0"
  + '2c 00 02 80'                                    //   INFO_DATA 44
  + '08 00 01 00 40 e2 01 00'                        //     ID 123456
  + '08 00 03 00 02 00 00 00'                        //     LINK 2
  + '08 00 04 00 c0 00 02 0a'                        //     LOCAL 192.0.2.10
  + '05 00 07 00 01 00 00 00'                        //     LEARNING 1
  + '06 00 0f 00 1a 80 00 00',                       //     PORT 6784 (be16)
);

// a vxlan with proxy ARP that is also a bridge port, its flags in IFLA_INFO_SLAVE_DATA
const VXLAN_PORT_LINK = hex(
  '00 00 01 00 0a 00 00 00 02 10 00 00 00 00 00 00'  // index 10, down
  + '08 00 03 00 76 78 32 00'                        // IFLA_IFNAME "vx2\0"
  + '08 00 0a 00 03 00 00 00'                        // IFLA_MASTER 3
  + '64 00 12 80'                                    // IFLA_LINKINFO 100
  + '0a 00 01 00 76 78 6c 61 6e 00 00 00'            //   kind "vxlan\0"
  + '1c 00 02 80'                                    //   INFO_DATA 28
  + '08 00 01 00 07 00 00 00'                        //     ID 7
  + '05 00 07 00 00 00 00 00'                        //     LEARNING 0
  + '05 00 0b 00 01 00 00 00'                        //     PROXY 1
  + '0b 00 04 00 62 72 69 64 67 65 00 00'            //   IFLA_INFO_SLAVE_KIND "bridge\0"
  + '2c 00 05 80'                                    //   IFLA_INFO_SLAVE_DATA 44
  + '05 00 01 00 03 00 00 00'                        //     IFLA_BRPORT_STATE 3 (ignored)
  + '08 00 03 00 64 00 00 00'                        //     IFLA_BRPORT_COST 100 (ignored)
  + '05 00 08 00 00 00 00 00'                        //     IFLA_BRPORT_LEARNING 0
  + '05 00 09 00 01 00 00 00'                        //     IFLA_BRPORT_UNICAST_FLOOD 1 (ignored)
  + '05 00 21 00 01 00 00 00',                       //     IFLA_BRPORT_ISOLATED 1
);

describe('decodeLink', () => {
  test('a veth enslaved to a bridge', () => {
    expect(decodeLink(VETH_LINK)).toEqual({
      index: 7, name: 'veth1', kind: 'veth', mtu: 1450, mac: '02:42:0a:20:00:01', up: true, gsoMaxSize: 65536, masterIndex: 3,
    });
  });

  test('a vxlan with its parameters', () => {
    expect(decodeLink(VXLAN_LINK)).toEqual({
      index: 9, name: 'vx', kind: 'vxlan', mtu: 1458, mac: 'aa:bb:cc:dd:ee:ff', up: false,
      vxlan: { vni: 123456, port: 6784, learning: true, proxy: false, local: '192.0.2.10', dev: 2 },
    });
  });

  test('a vxlan bridge port: proxy, and the port flags from IFLA_INFO_SLAVE_DATA', () => {
    expect(decodeLink(VXLAN_PORT_LINK)).toEqual({
      index: 10, name: 'vx2', kind: 'vxlan', mtu: 0, mac: '', up: false, masterIndex: 3,
      vxlan: { vni: 7, port: 0, learning: false, proxy: true },
      bridgePort: { learning: false, isolated: true },
    });
  });

  test('port flags: absent ones are false; a slave of another kind (bond) has none; a 0-byte flag is a DecodeError', () => {
    const port = (slaveKind: string, data: string) => Buffer.concat([
      hex('00 00 01 00 04 00 00 00 00 00 00 00 00 00 00 00' + '06 00 03 00 70 00 00 00'),
      encodeAttr(IFLA_LINKINFO, Buffer.concat([
        encodeAttr(IFLA_INFO_SLAVE_KIND, cstr(slaveKind)), encodeAttr(IFLA_INFO_SLAVE_DATA, hex(data)),
      ])),
    ]);
    expect(decodeLink(port('bridge', '05 00 21 00 01 00 00 00')).bridgePort).toEqual({ learning: false, isolated: true });
    expect(decodeLink(port('bridge', '')).bridgePort).toEqual({ learning: false, isolated: false });
    expect(decodeLink(port('bond', '05 00 08 00 01 00 00 00')).bridgePort).toBeUndefined();
    expect(() => decodeLink(port('bridge', '04 00 08 00'))).toThrow(DecodeError);
  });

  test('no IFLA_LINKINFO (lo) or an unknown kind is "other"; IFLA_MASTER 0 means none', () => {
    const lo = hex('00 00 04 03 01 00 00 00 49 00 01 00 00 00 00 00' + '07 00 03 00 6c 6f 00 00' + '08 00 04 00 00 00 01 00'
      + '08 00 0a 00 00 00 00 00');
    expect(decodeLink(lo)).toEqual({ index: 1, name: 'lo', kind: 'other', mtu: 65536, mac: '', up: true });
    const macvlan = Buffer.concat([hex('00 00 01 00 04 00 00 00 00 00 00 00 00 00 00 00' + '06 00 03 00 6d 00 00 00'),
      hex('10 00 12 00 0c 00 01 00 6d 61 63 76 6c 61 6e 00')]);
    expect(decodeLink(macvlan).kind).toBe('other');
  });

  test('a dummy as the kernel lists it: kind "dummy", up, its random address', () => {
    const dummy = hex('00 00 01 00 06 00 00 00 c3 00 01 00 00 00 00 00'  // index 6, UP|BROADCAST|RUNNING|NOARP, LOWER_UP
      + '07 00 03 00 64 30 00 00'                      // IFLA_IFNAME "d0\0"
      + '08 00 04 00 dc 05 00 00'                      // IFLA_MTU 1500
      + '0a 00 01 00 8e 21 3a 7c 4d 02 00 00'          // IFLA_ADDRESS
      + '10 00 12 80' + '0a 00 01 00 64 75 6d 6d 79 00 00 00');  // IFLA_LINKINFO: kind "dummy\0"
    expect(decodeLink(dummy)).toEqual({ index: 6, name: 'd0', kind: 'dummy', mtu: 1500, mac: '8e:21:3a:7c:4d:02', up: true });
  });

  test('IFLA_GSO_MAX_SIZE: read when present (a u32), left out when absent; a 2-byte one is a DecodeError', () => {
    const link = (gso: string) => hex('00 00 01 00 05 00 00 00 00 00 00 00 00 00 00 00' + '06 00 03 00 74 00 00 00' + gso);
    expect(decodeLink(link('08 00 29 00 f5 ff 00 00')).gsoMaxSize).toBe(65525);
    expect(decodeLink(link('08 00 29 00 f8 ff 07 00')).gsoMaxSize).toBe(524280);
    expect(decodeLink(link('')).gsoMaxSize).toBeUndefined();
    expect(() => decodeLink(link('06 00 29 00 f5 ff 00 00'))).toThrow(DecodeError);
  });

  test('round trip through the request encoder (a NEWLINK request parses as a link)', () => {
    const l = decodeLink(encodeNewLink({ name: 'vx9', mtu: 1400, info: { kind: 'vxlan', vni: 5, port: 4789, learning: false } }));
    expect(l).toMatchObject({ name: 'vx9', kind: 'vxlan', mtu: 1400, vxlan: { vni: 5, port: 4789, learning: false } });
  });

  test('missing IFLA_IFNAME, short ifinfomsg, or a 2-byte IFLA_MTU is a DecodeError', () => {
    expect(() => decodeLink(Buffer.alloc(16))).toThrow(DecodeError);
    expect(() => decodeLink(Buffer.alloc(15))).toThrow(DecodeError);
    expect(() => decodeLink(hex('00 00 01 00 07 00 00 00 00 00 00 00 00 00 00 00' + '06 00 03 00 61 00 00 00' + '06 00 04 00 dc 05 00 00')))
      .toThrow(DecodeError);
  });
});

describe('decodeAddress', () => {
  test('IPv4: IFA_LOCAL is the address; other attributes ignored', () => {
    const buf = hex('02 18 80 00 05 00 00 00'         // inet /24, IFA_F_PERMANENT, universe, index 5
      + '08 00 01 00 0a 00 00 01' + '08 00 02 00 0a 00 00 01'
      + '08 00 04 00 0a 00 00 ff'                      // IFA_BROADCAST
      + '08 00 03 00 62 72 30 00');                    // IFA_LABEL
    expect(decodeAddress(buf)).toEqual({ ifindex: 5, cidr: '10.0.0.1/24' });
  });

  test('IFA_ADDRESS alone is used; IPv6 entries give undefined; short buffers throw', () => {
    expect(decodeAddress(hex('02 20 00 00 05 00 00 00' + '08 00 01 00 c0 00 02 01'))).toEqual({ ifindex: 5, cidr: '192.0.2.1/32' });
    expect(decodeAddress(hex('0a 40 00 00 05 00 00 00' + '14 00 01 00' + '20 01 0d b8' + '00'.repeat(12)))).toBeUndefined();
    expect(() => decodeAddress(hex('02 18 00 00 05 00 00'))).toThrow(DecodeError);
    expect(() => decodeAddress(hex('02 18 00 00 05 00 00 00' + '0c 00 02 00 0a 00 00 01 00 00 00 00'))).toThrow(DecodeError);
  });
});

describe('decodeRoute', () => {
  test('gateway route with RTA_TABLE and RTA_PRIORITY', () => {
    const buf = hex('02 10 00 00 fe 03 00 01 00 00 00 00'
      + '08 00 0f 00 fe 00 00 00' + '08 00 01 00 0a 01 00 00' + '08 00 05 00 0a 00 00 09'
      + '08 00 04 00 04 00 00 00' + '08 00 06 00 64 00 00 00');
    expect(decodeRoute(buf)).toEqual({
      dst: '10.1.0.0/16', gateway: '10.0.0.9', ifindex: 4, table: 254, type: 1, protocol: 3, scope: 0, priority: 100,
    });
  });

  test('default route has no RTA_DST; rtm_table is used without RTA_TABLE; RTA_TABLE wins over it', () => {
    expect(decodeRoute(hex('02 00 00 00 fe 03 00 01 00 00 00 00' + '08 00 05 00 c0 00 02 01'))).toMatchObject({ dst: '0.0.0.0/0', table: 254 });
    expect(decodeRoute(hex('02 00 00 00 fc 03 00 01 00 00 00 00' + '08 00 0f 00 e8 03 00 00'))?.table).toBe(1000);
    expect(decodeRoute(hex('0a 00 00 00 fe 03 00 01 00 00 00 00'))).toBeUndefined();
  });

  test('round trip of the request encoder', () => {
    expect(decodeRoute(encodeRoute('add', { dst: '10.9.0.0/16', gateway: '10.0.0.1', oif: 3 })))
      .toEqual({ dst: '10.9.0.0/16', gateway: '10.0.0.1', ifindex: 3, table: 254, type: 1, protocol: 3, scope: 0 });
  });

  test('an unreachable route as the kernel lists it: rtm_type 7, the protocol it was given, no gateway or device', () => {
    const buf = hex('02 10 00 00 fe 57 00 07 00 00 00 00' + '08 00 0f 00 fe 00 00 00' + '08 00 01 00 0a 58 00 00');
    expect(decodeRoute(buf)).toEqual({ dst: '10.88.0.0/16', table: 254, type: 7, protocol: 87, scope: 0 });
    expect(decodeRoute(encodeRoute('add', { dst: '10.88.0.0/16', type: 'unreachable', protocol: 87 }))).toEqual(decodeRoute(buf));
  });

  test('routeType: unicast and unreachable by name, every other rtm_type is other', () => {
    expect([1, 7].map(routeType)).toEqual(['unicast', 'unreachable']);
    for (const t of [0, 2, 3, 6, 8, 9, 255]) expect(routeType(t)).toBe('other'); // unspec, local, broadcast, blackhole, prohibit, throw
  });

  test('truncated rtmsg or a 3-byte gateway is a DecodeError', () => {
    expect(() => decodeRoute(Buffer.alloc(11))).toThrow(DecodeError);
    expect(() => decodeRoute(hex('02 00 00 00 fe 03 00 01 00 00 00 00' + '07 00 05 00 c0 00 02 00'))).toThrow(DecodeError);
  });
});

describe('decodeNeighbour', () => {
  test('ARP entry with NDA_CACHEINFO ignored', () => {
    const buf = hex('02 00 00 00 03 00 00 00 80 00 00 01'
      + '08 00 01 00 0a 00 00 05' + '0a 00 02 00 02 00 00 00 00 05 00 00'
      + '14 00 03 00' + '00'.repeat(16));
    expect(decodeNeighbour(buf)).toEqual({
      family: 2, ifindex: 3, state: 0x80, flags: 0, type: 1, dst: '10.0.0.5', lladdr: '02:00:00:00:00:05',
    });
  });

  test('bridge FDB entry with NDA_MASTER and NTF_MASTER; IPv6 NDA_DST is left out', () => {
    const buf = hex('07 00 00 00 08 00 00 00 80 00 04 00'
      + '0a 00 02 00 02 00 00 00 00 07 00 00' + '08 00 09 00 03 00 00 00'
      + '14 00 01 00 fe 80' + '00'.repeat(14));
    expect(decodeNeighbour(buf)).toEqual({ family: 7, ifindex: 8, state: 0x80, flags: 4, type: 0, lladdr: '02:00:00:00:00:07', master: 3 });
  });

  test('round trips', () => {
    expect(decodeNeighbour(encodeFdb(9, '00:00:00:00:00:00', '192.0.2.1')))
      .toMatchObject({ family: 7, ifindex: 9, flags: 2, lladdr: '00:00:00:00:00:00', dst: '192.0.2.1' });
    expect(decodeNeighbour(encodeBridgeFdb(4, '02:00:00:00:00:07')))
      .toEqual({ family: 7, ifindex: 4, state: 0x40, flags: 4, type: 0, lladdr: '02:00:00:00:00:07' });
    expect(decodeNeighbour(encodeNeighbour(1, '10.0.0.1', 'aa:bb:cc:dd:ee:ff'))).toMatchObject({ dst: '10.0.0.1', lladdr: 'aa:bb:cc:dd:ee:ff' });
  });
});

describe('robustness: truncation and garbage never read out of bounds', () => {
  const decoders: [string, (b: Buffer) => unknown, Buffer][] = [
    ['link (veth)', decodeLink, VETH_LINK],
    ['link (vxlan)', decodeLink, VXLAN_LINK],
    ['link (vxlan bridge port)', decodeLink, VXLAN_PORT_LINK],
    ['address', decodeAddress, hex('02 18 80 00 05 00 00 00 08 00 01 00 0a 00 00 01 08 00 02 00 0a 00 00 01')],
    ['route', decodeRoute, encodeRoute('add', { dst: '10.9.0.0/16', gateway: '10.0.0.1', oif: 3 })],
    ['neighbour', decodeNeighbour, encodeFdb(9, '00:00:00:00:00:00', '192.0.2.1')],
  ];

  test.each(decoders)('%s: every truncation parses or throws DecodeError', (_name, decode, good) => {
    for (let len = 0; len < good.length; len++) {
      try {
        decode(good.subarray(0, len));
      } catch (e) {
        expect(e).toBeInstanceOf(DecodeError);
      }
    }
  });

  test.each(decoders)('%s: random bytes and bit flips parse or throw DecodeError', (_name, decode, good) => {
    let seed = 12345;
    const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 16) & 0xff;
    for (let i = 0; i < 2000; i++) {
      const buf = i % 2 === 0 ? Buffer.from(good) : Buffer.from(Array.from({ length: rand() % 64 }, rand));
      if (i % 2 === 0) for (let k = 0; k < 3; k++) buf[rand() % buf.length] = rand();
      try {
        decode(buf);
      } catch (e) {
        expect(e).toBeInstanceOf(DecodeError);
      }
    }
  });
});
