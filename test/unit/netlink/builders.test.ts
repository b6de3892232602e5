/**
 * Every request builder against bytes written out by hand from the kernel struct layouts
 * (ifinfomsg 16 B, ifaddrmsg 8 B, rtmsg 12 B, ndmsg 12 B, nlattr 4 B + value padded to 4).
 */
import { encodeAddress, encodeAddressDump } from '../../../src/netlink/codec/address';
import { EncodeError } from '../../../src/netlink/codec/errors';
import { encodeBridgePort, encodeLinkByName, encodeLinkDump, encodeNewLink, encodeSetLink } from '../../../src/netlink/codec/link';
import { encodeBridgeFdb, encodeFdb, encodeNeighDump, encodeNeighbour } from '../../../src/netlink/codec/neighbour';
import { encodeRoute, encodeRouteDump } from '../../../src/netlink/codec/route';
import { hex, zeros } from './hex';

const IFINFOMSG_ZERO = zeros(16);

describe('links (ifinfomsg)', () => {
  test('bridge with name, mtu, mac', () => {
    expect(encodeNewLink({ name: 'br0', mtu: 1400, mac: '02:00:00:00:00:01', info: { kind: 'bridge' } })).toEqual(hex(
      IFINFOMSG_ZERO
      + '08 00 03 00 62 72 30 00'                 // IFLA_IFNAME "br0\0"
      + '08 00 04 00 78 05 00 00'                 // IFLA_MTU 1400
      + '0a 00 01 00 02 00 00 00 00 01 00 00'     // IFLA_ADDRESS, 6 bytes + 2 pad
      + '10 00 12 00'                             // IFLA_LINKINFO 16
      + '0b 00 01 00 62 72 69 64 67 65 00 00',    //   IFLA_INFO_KIND "bridge\0" + 1 pad
    ));
  });

  test('veth: the peer is a whole ifinfomsg + IFLA_IFNAME inside VETH_INFO_PEER', () => {
    expect(encodeNewLink({ name: 'a', info: { kind: 'veth', peer: { name: 'b' } } })).toEqual(hex(
      IFINFOMSG_ZERO
      + '06 00 03 00 61 00 00 00'           // IFLA_IFNAME "a\0" + 2 pad
      + '30 00 12 00'                       // IFLA_LINKINFO, 48
      + '09 00 01 00 76 65 74 68 00 00 00 00' // IFLA_INFO_KIND "veth\0" + 3 pad
      + '20 00 02 00'                       // IFLA_INFO_DATA, 32
      + '1c 00 01 00'                       // VETH_INFO_PEER, 28
      + zeros(16)                           //   peer ifinfomsg
      + '06 00 03 00 62 00 00 00',          //   IFLA_IFNAME "b\0"
    ));
  });

  test('veth with mtu and MACs on both ends', () => {
    expect(encodeNewLink({
      name: 'h', mtu: 1450, mac: '02:00:00:00:00:0a', info: { kind: 'veth', peer: { name: 'c', mtu: 1450, mac: '02:00:00:00:00:0b' } },
    })).toEqual(hex(
      IFINFOMSG_ZERO
      + '06 00 03 00 68 00 00 00' + '08 00 04 00 aa 05 00 00' + '0a 00 01 00 02 00 00 00 00 0a 00 00'
      + '44 00 12 00'                           // IFLA_LINKINFO 68 = 4 + 12 + 52
      + '09 00 01 00 76 65 74 68 00 00 00 00'   //   IFLA_INFO_KIND "veth\0"
      + '34 00 02 00'                           //   IFLA_INFO_DATA 52 = 4 + 48
      + '30 00 01 00'                           //     VETH_INFO_PEER 48 = 4 + 16 + 8 + 8 + 12
      + zeros(16)
      + '06 00 03 00 63 00 00 00' + '08 00 04 00 aa 05 00 00' + '0a 00 01 00 02 00 00 00 00 0b 00 00',
    ));
  });

  test('vxlan: id, local, link, learning, port (big-endian)', () => {
    expect(encodeNewLink({
      name: 'vx', info: { kind: 'vxlan', vni: 42, port: 4789, local: '10.0.0.1', link: 3, learning: false },
    })).toEqual(hex(
      IFINFOMSG_ZERO
      + '07 00 03 00 76 78 00 00'               // IFLA_IFNAME "vx\0" + 1 pad
      + '3c 00 12 00'                           // IFLA_LINKINFO 60
      + '0a 00 01 00 76 78 6c 61 6e 00 00 00'   // IFLA_INFO_KIND "vxlan\0" + 2 pad
      + '2c 00 02 00'                           // IFLA_INFO_DATA 44
      + '08 00 01 00 2a 00 00 00'               // IFLA_VXLAN_ID 42
      + '08 00 04 00 0a 00 00 01'               // IFLA_VXLAN_LOCAL 10.0.0.1
      + '08 00 03 00 03 00 00 00'               // IFLA_VXLAN_LINK 3
      + '05 00 07 00 00 00 00 00'               // IFLA_VXLAN_LEARNING 0
      + '06 00 0f 00 12 b5 00 00',              // IFLA_VXLAN_PORT 4789 (be16)
    ));
  });

  test('vxlan with a MAC and proxy ARP: IFLA_ADDRESS, IFLA_VXLAN_PROXY after LEARNING; proxy false is sent as 0', () => {
    expect(encodeNewLink({
      name: 'vx', mac: '02:00:00:00:00:0a', info: { kind: 'vxlan', vni: 42, port: 4789, learning: false, proxy: true },
    })).toEqual(hex(
      IFINFOMSG_ZERO
      + '07 00 03 00 76 78 00 00'               // IFLA_IFNAME "vx\0"
      + '0a 00 01 00 02 00 00 00 00 0a 00 00'   // IFLA_ADDRESS
      + '34 00 12 00'                           // IFLA_LINKINFO 52 = 4 + 12 + 36
      + '0a 00 01 00 76 78 6c 61 6e 00 00 00'   //   IFLA_INFO_KIND "vxlan\0"
      + '24 00 02 00'                           //   IFLA_INFO_DATA 36
      + '08 00 01 00 2a 00 00 00'               //     IFLA_VXLAN_ID 42
      + '05 00 07 00 00 00 00 00'               //     IFLA_VXLAN_LEARNING 0
      + '05 00 0b 00 01 00 00 00'               //     IFLA_VXLAN_PROXY 1
      + '06 00 0f 00 12 b5 00 00',              //     IFLA_VXLAN_PORT 4789
    ));
    const off = encodeNewLink({ name: 'vx', info: { kind: 'vxlan', vni: 42, port: 4789, learning: false, proxy: false } });
    expect(off.subarray(off.length - 16)).toEqual(hex('05 00 0b 00 00 00 00 00' + '06 00 0f 00 12 b5 00 00'));
  });

  test('bridge port flags: AF_BRIDGE ifinfomsg, IFLA_PROTINFO with NLA_F_NESTED, u8 LEARNING (8) / ISOLATED (33)', () => {
    expect(encodeBridgePort(5, { learning: false, isolated: true })).toEqual(hex(
      '07 00 00 00 05 00 00 00 00 00 00 00 00 00 00 00'  // AF_BRIDGE, index 5, no flags/change
      + '14 00 0c 80'                                    // IFLA_PROTINFO | NLA_F_NESTED, 20
      + '05 00 08 00 00 00 00 00'                        //   IFLA_BRPORT_LEARNING 0
      + '05 00 21 00 01 00 00 00',                       //   IFLA_BRPORT_ISOLATED 1
    ));
    expect(encodeBridgePort(300, { isolated: false })).toEqual(hex(
      '07 00 00 00 2c 01 00 00 00 00 00 00 00 00 00 00' + '0c 00 0c 80' + '05 00 21 00 00 00 00 00',
    ));
    expect(encodeBridgePort(5, {})).toEqual(hex('07 00 00 00 05 00 00 00 00 00 00 00 00 00 00 00' + '04 00 0c 80'));
  });

  test('set link: up via flags/change, mtu, master 0 releases', () => {
    expect(encodeSetLink({ index: 5, up: true, mtu: 1500, master: 0 })).toEqual(hex(
      '00 00 00 00 05 00 00 00 01 00 00 00 01 00 00 00'  // family, pad, type, index 5, flags IFF_UP, change IFF_UP
      + '08 00 04 00 dc 05 00 00'                        // IFLA_MTU 1500
      + '08 00 0a 00 00 00 00 00',                       // IFLA_MASTER 0
    ));
    expect(encodeSetLink({ index: 5, up: false, mac: '02:00:00:00:00:01' })).toEqual(hex(
      '00 00 00 00 05 00 00 00 00 00 00 00 01 00 00 00' + '0a 00 01 00 02 00 00 00 00 01 00 00',
    ));
    // no up/down: change is 0 so the kernel leaves the flags alone
    expect(encodeSetLink({ index: 300, master: 7 })).toEqual(hex(
      '00 00 00 00 2c 01 00 00 00 00 00 00 00 00 00 00' + '08 00 0a 00 07 00 00 00',
    ));
  });

  test('set link: gso_max_size is IFLA_GSO_MAX_SIZE (41), a u32, after the others (what a TAP on its bridge gets)', () => {
    expect(encodeSetLink({ index: 5, up: true, mtu: 1450, master: 3, gsoMaxSize: 65525 })).toEqual(hex(
      '00 00 00 00 05 00 00 00 01 00 00 00 01 00 00 00'
      + '08 00 04 00 aa 05 00 00'                        // IFLA_MTU 1450
      + '08 00 0a 00 03 00 00 00'                        // IFLA_MASTER 3
      + '08 00 29 00 f5 ff 00 00',                       // IFLA_GSO_MAX_SIZE 65525
    ));
    expect(encodeSetLink({ index: 300, gsoMaxSize: 16000 })).toEqual(hex(
      '00 00 00 00 2c 01 00 00 00 00 00 00 00 00 00 00' + '08 00 29 00 80 3e 00 00',
    ));
    for (const bad of [-1, 2 ** 32, 1.5]) expect(() => encodeSetLink({ index: 1, gsoMaxSize: bad })).toThrow(EncodeError);
  });

  test('by name, and dump', () => {
    expect(encodeLinkByName('eth0')).toEqual(hex(IFINFOMSG_ZERO + '09 00 03 00 65 74 68 30 00 00 00 00'));
    expect(encodeLinkDump()).toEqual(hex(IFINFOMSG_ZERO));
  });

  test('names: 15 characters max, not empty; bad MAC or port is an EncodeError', () => {
    expect(() => encodeLinkByName('a'.repeat(15))).not.toThrow();
    expect(() => encodeLinkByName('a'.repeat(16))).toThrow(EncodeError);
    expect(() => encodeLinkByName('')).toThrow(EncodeError);
    for (const bad of ['a/b', 'a:1', 'a b', 'tab\t', '.', '..', 'veth%d']) {
      expect(() => encodeNewLink({ name: bad, info: { kind: 'bridge' } })).toThrow(EncodeError);
    }
    expect(() => encodeLinkByName('a:1')).not.toThrow(); // lookups of odd names just find nothing
    expect(() => encodeNewLink({ name: 'x', mac: '02:00', info: { kind: 'bridge' } })).toThrow(EncodeError);
    expect(() => encodeNewLink({ name: 'x', info: { kind: 'veth', peer: { name: 'p'.repeat(16) } } })).toThrow(EncodeError);
    expect(() => encodeNewLink({ name: 'x', info: { kind: 'vxlan', vni: 1, port: 0, learning: false } })).toThrow(EncodeError);
    expect(() => encodeNewLink({ name: 'x', info: { kind: 'vxlan', vni: -1, port: 1, learning: false } })).toThrow(EncodeError);
    expect(() => encodeNewLink({ name: 'x', mtu: -1, info: { kind: 'bridge' } })).toThrow(EncodeError);
  });
});

describe('addresses (ifaddrmsg)', () => {
  test('IPv4 address with prefix: IFA_LOCAL and IFA_ADDRESS both the address', () => {
    expect(encodeAddress(7, '10.32.0.1/12')).toEqual(hex(
      '02 0c 00 00 07 00 00 00'     // AF_INET, prefixlen 12, flags 0, scope universe, index 7
      + '08 00 02 00 0a 20 00 01'   // IFA_LOCAL
      + '08 00 01 00 0a 20 00 01',  // IFA_ADDRESS
    ));
    expect(encodeAddressDump()).toEqual(hex('02 00 00 00 00 00 00 00'));
    expect(() => encodeAddress(7, '10.32.0.1')).toThrow(EncodeError);
  });
});

describe('routes (rtmsg)', () => {
  test('add via gateway: main table, proto boot, scope universe, unicast', () => {
    expect(encodeRoute('add', { dst: '10.1.0.0/16', gateway: '10.0.0.9' })).toEqual(hex(
      '02 10 00 00 fe 03 00 01 00 00 00 00'  // inet, dst_len 16, src_len, tos, table 254, RTPROT_BOOT, universe, RTN_UNICAST, flags
      + '08 00 0f 00 fe 00 00 00'            // RTA_TABLE 254
      + '08 00 01 00 0a 01 00 00'            // RTA_DST
      + '08 00 05 00 0a 00 00 09',           // RTA_GATEWAY
    ));
  });

  test('add on-link (dev, no gateway): scope link', () => {
    expect(encodeRoute('add', { dst: '10.2.3.0/24', oif: 4 })).toEqual(hex(
      '02 18 00 00 fe 03 fd 01 00 00 00 00' + '08 00 0f 00 fe 00 00 00' + '08 00 01 00 0a 02 03 00' + '08 00 04 00 04 00 00 00',
    ));
  });

  test('delete default route: no RTA_DST, scope nowhere, protocol and type unspecified', () => {
    expect(encodeRoute('del', { dst: '0.0.0.0/0', gateway: '192.0.2.1', oif: 4 })).toEqual(hex(
      '02 00 00 00 fe 00 ff 00 00 00 00 00' + '08 00 0f 00 fe 00 00 00' + '08 00 05 00 c0 00 02 01' + '08 00 04 00 04 00 00 00',
    ));
  });

  test('protocol: rtm_protocol as given (87), boot when unset; a delete sends none, matching any', () => {
    expect(encodeRoute('add', { dst: '10.1.0.0/16', gateway: '10.0.0.9', protocol: 87 })).toEqual(hex(
      '02 10 00 00 fe 57 00 01 00 00 00 00'  // protocol 87, scope universe, RTN_UNICAST
      + '08 00 0f 00 fe 00 00 00' + '08 00 01 00 0a 01 00 00' + '08 00 05 00 0a 00 00 09',
    ));
    const head = (r: Buffer) => r.subarray(0, 12);
    expect(head(encodeRoute('add', { dst: '10.2.3.0/24', oif: 4, protocol: 0 }))).toEqual(hex('02 18 00 00 fe 00 fd 01 00 00 00 00'));
    expect(head(encodeRoute('del', { dst: '10.1.0.0/16', gateway: '10.0.0.9', protocol: 87 }))).toEqual(hex('02 10 00 00 fe 00 ff 00 00 00 00 00'));
  });

  test('unreachable: RTN_UNREACHABLE (7), scope universe, no nexthop attributes; a delete of that type names it', () => {
    expect(encodeRoute('add', { dst: '10.88.0.0/16', type: 'unreachable', protocol: 87 })).toEqual(hex(
      '02 10 00 00 fe 57 00 07 00 00 00 00'  // dst_len 16, table 254, protocol 87, scope universe, RTN_UNREACHABLE
      + '08 00 0f 00 fe 00 00 00'            // RTA_TABLE 254
      + '08 00 01 00 0a 58 00 00',           // RTA_DST 10.88.0.0
    ));
    const unicast = encodeRoute('add', { dst: '10.88.0.0/16', type: 'unicast', oif: 4 });
    expect(unicast.subarray(0, 12)).toEqual(hex('02 10 00 00 fe 03 fd 01 00 00 00 00'));
    // a delete matches only routes of the type given, any type when none is
    expect(encodeRoute('del', { dst: '10.88.0.0/16', type: 'unreachable' })).toEqual(hex(
      '02 10 00 00 fe 00 ff 07 00 00 00 00' + '08 00 0f 00 fe 00 00 00' + '08 00 01 00 0a 58 00 00',
    ));
    expect(encodeRoute('del', { dst: '10.88.0.0/16' }).readUInt8(7)).toBe(0);
  });

  test('an unreachable route with a nexthop, a protocol that is no u8, an unknown type: EncodeError', () => {
    expect(() => encodeRoute('add', { dst: '10.88.0.0/16', type: 'unreachable', gateway: '10.0.0.1' }))
      .toThrow(new EncodeError('an unreachable route takes no gateway or device: 10.88.0.0/16'));
    expect(() => encodeRoute('add', { dst: '10.88.0.0/16', type: 'unreachable', oif: 4 })).toThrow(EncodeError);
    expect(() => encodeRoute('del', { dst: '10.88.0.0/16', type: 'unreachable', gateway: '10.0.0.1' })).toThrow(EncodeError);
    for (const bad of [-1, 256, 1.5, NaN]) {
      expect(() => encodeRoute('add', { dst: '10.88.0.0/16', protocol: bad })).toThrow(`invalid route protocol ${bad} (a u8)`);
    }
    const blackhole = 'blackhole' as unknown as 'unreachable';
    expect(() => encodeRoute('add', { dst: '10.88.0.0/16', type: blackhole })).toThrow(EncodeError);
    expect(() => encodeRoute('add', { dst: '10.88.0.0/16', type: blackhole })).toThrow('unknown route type blackhole');
  });

  test('metric: RTA_PRIORITY (u32) on add and delete when given and non-zero; a bad one is an EncodeError', () => {
    expect(encodeRoute('add', { dst: '10.44.0.9/32', gateway: '10.0.0.9', protocol: 87, priority: 20 })).toEqual(hex(
      '02 20 00 00 fe 57 00 01 00 00 00 00'
      + '08 00 0f 00 fe 00 00 00' + '08 00 01 00 0a 2c 00 09' + '08 00 05 00 0a 00 00 09'
      + '08 00 06 00 14 00 00 00',            // RTA_PRIORITY 20
    ));
    expect(encodeRoute('del', { dst: '10.44.0.9/32', priority: 10 }).subarray(-8)).toEqual(hex('08 00 06 00 0a 00 00 00'));
    expect(encodeRoute('add', { dst: '10.44.0.9/32', gateway: '10.0.0.9', priority: 0 })).toEqual(encodeRoute('add', { dst: '10.44.0.9/32', gateway: '10.0.0.9' }));
    for (const bad of [-1, 2 ** 32, 1.5]) {
      expect(() => encodeRoute('add', { dst: '10.44.0.9/32', gateway: '10.0.0.9', priority: bad })).toThrow(`invalid route metric ${bad} (a u32)`);
    }
  });

  test('dump; host bits in dst refused', () => {
    expect(encodeRouteDump()).toEqual(hex('02' + zeros(11)));
    expect(() => encodeRoute('add', { dst: '10.1.0.1/16' })).toThrow(EncodeError);
    expect(() => encodeRoute('add', { dst: '10.1.0.0/16', gateway: '10.0.0' })).toThrow(EncodeError);
  });
});

describe('neighbours and fdb (ndmsg)', () => {
  test('permanent ARP entry', () => {
    expect(encodeNeighbour(3, '10.0.0.5', '02:00:00:00:00:05')).toEqual(hex(
      '02 00 00 00 03 00 00 00 80 00 00 00'  // AF_INET, pads, ifindex 3, NUD_PERMANENT, flags 0, type 0
      + '08 00 01 00 0a 00 00 05'            // NDA_DST
      + '0a 00 02 00 02 00 00 00 00 05 00 00', // NDA_LLADDR
    ));
    expect(encodeNeighbour(3, '10.0.0.5')).toEqual(hex('02 00 00 00 03 00 00 00 80 00 00 00' + '08 00 01 00 0a 00 00 05'));
  });

  test('fdb: AF_BRIDGE, NTF_SELF, NUD_PERMANENT, NDA_LLADDR + NDA_DST', () => {
    expect(encodeFdb(9, '00:00:00:00:00:00', '192.0.2.1')).toEqual(hex(
      '07 00 00 00 09 00 00 00 80 00 02 00'
      + '0a 00 02 00 00 00 00 00 00 00 00 00'
      + '08 00 01 00 c0 00 02 01',
    ));
  });

  test('bridge fdb: AF_BRIDGE, the port\'s ifindex, NUD_NOARP (static), NTF_MASTER, NDA_LLADDR only', () => {
    expect(encodeBridgeFdb(9, '02:00:00:00:00:07')).toEqual(hex(
      '07 00 00 00 09 00 00 00 40 00 04 00'     // AF_BRIDGE, ifindex 9, state 0x40, flags NTF_MASTER, type 0
      + '0a 00 02 00 02 00 00 00 00 07 00 00',  // NDA_LLADDR
    ));
    expect(() => encodeBridgeFdb(9, '02:00:00:00:07')).toThrow(EncodeError);
    expect(() => encodeFdb(9, '02:00:00:00:00:07', '192.0.2')).toThrow(EncodeError);
  });

  test('dumps', () => {
    expect(encodeNeighDump(2)).toEqual(hex('02' + zeros(11)));
    expect(encodeNeighDump(7)).toEqual(hex('07' + zeros(11)));
  });
});
