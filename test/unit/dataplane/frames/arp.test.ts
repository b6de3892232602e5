import { parseIp } from '../../../../src/addr/cidr';
import {
  ARP_BODY_BYTES, ARP_FRAME_BYTES, ARP_REPLY, ARP_REQUEST, arpReply, gratuitousArp, parseArp, type ArpPacket, type ArpResponse,
} from '../../../../src/dataplane/frames/arp';
import { BROADCAST_KEY, macKeyOf } from '../../../../src/dataplane/frames/mac';
import { expectRangeError, hex } from './helpers';

const REQUESTER = macKeyOf('02:42:0a:20:00:02');
const ANSWER = macKeyOf('02:42:0a:20:00:05');
const PAD = '00 '.repeat(18);

// who-has 10.32.0.5 tell 10.32.0.2, as a Linux host sends it (padded by the bridge to 60 bytes)
const REQUEST = hex(`
  ff ff ff ff ff ff | 02 42 0a 20 00 02 | 08 06
  00 01 | 08 00 | 06 | 04 | 00 01
  02 42 0a 20 00 02 | 0a 20 00 02
  00 00 00 00 00 00 | 0a 20 00 05
  ${PAD}`);

const REQUEST_FIELDS: ArpPacket = {
  op: 1, senderMac: REQUESTER, senderIp: parseIp('10.32.0.2'), targetMac: 0, targetIp: parseIp('10.32.0.5'),
};

function withByte(frame: Buffer, offset: number, value: number): Buffer {
  const f = Buffer.from(frame);
  f[offset] = value;
  return f;
}

test('constants', () => {
  expect([ARP_REQUEST, ARP_REPLY, ARP_BODY_BYTES, ARP_FRAME_BYTES]).toEqual([1, 2, 28, 42]);
});

describe('parseArp', () => {
  test('a request, padded or not', () => {
    expect(parseArp(REQUEST)).toEqual(REQUEST_FIELDS);
    expect(parseArp(REQUEST.subarray(0, 42))).toEqual(REQUEST_FIELDS);
  });

  test('a reply, with addresses whose top bits are set', () => {
    const f = hex(`
      02 42 0a 20 00 02 | fe ff ff ff ff ff | 08 06
      00 01 08 00 06 04 00 02
      fe ff ff ff ff ff | ff ff ff fe
      80 00 00 00 00 01 | 80 00 00 01`);
    expect(parseArp(f)).toEqual({
      op: 2, senderMac: macKeyOf('fe:ff:ff:ff:ff:ff'), senderIp: 0xfffffffe, targetMac: macKeyOf('80:00:00:00:00:01'), targetIp: 0x80000001,
    });
  });

  test('undefined when truncated at any byte', () => {
    for (let n = 0; n < 42; n++) expect(parseArp(REQUEST.subarray(0, n))).toBeUndefined();
  });

  test.each([
    ['ethertype IPv4', 12, 0x08, 13, 0x00],
    ['ethertype VLAN (tagged ARP is not parsed)', 12, 0x81, 13, 0x00],
    ['hardware type 6 (IEEE 802)', 14, 0x00, 15, 0x06],
    ['hardware type 0x0101', 14, 0x01, 15, 0x01],
    ['protocol type IPv6', 16, 0x86, 17, 0xdd],
    ['protocol type 0x0000', 16, 0x00, 17, 0x00],
    ['hardware length 8', 18, 8, 18, 8],
    ['protocol length 16', 19, 16, 19, 16],
    ['op 0', 20, 0, 21, 0],
    ['op 3 (RARP request)', 20, 0, 21, 3],
    ['op 4 (RARP reply)', 20, 0, 21, 4],
    ['op 0x0101', 20, 1, 21, 1],
    ['op 0x0201', 20, 2, 21, 1],
  ])('undefined for %s', (_what, o1, v1, o2, v2) => {
    expect(parseArp(withByte(withByte(REQUEST, o1, v1), o2, v2))).toBeUndefined();
  });

  test('every other byte of the body is data, not validated', () => {
    for (let o = 22; o < 42; o++) expect(parseArp(withByte(REQUEST, o, REQUEST[o]! ^ 0xff))).toBeDefined();
  });
});

describe('arpReply', () => {
  test('byte-exact: unicast to the requester, sender = (answer, requested IP), target = requester', () => {
    const request = parseArp(REQUEST);
    if (!request || request.op !== 1) throw new Error('fixture');
    const reply = arpReply(request, ANSWER);
    expect(reply).toEqual(hex(`
      02 42 0a 20 00 02 | 02 42 0a 20 00 05 | 08 06
      00 01 | 08 00 | 06 | 04 | 00 02
      02 42 0a 20 00 05 | 0a 20 00 05
      02 42 0a 20 00 02 | 0a 20 00 02
      ${PAD}`));
    expect(reply.length).toBe(60);
    expect(parseArp(reply)).toEqual({
      op: 2, senderMac: ANSWER, senderIp: parseIp('10.32.0.5'), targetMac: REQUESTER, targetIp: parseIp('10.32.0.2'),
    });
  });

  test('answers an RFC 5227 probe (sender IP 0.0.0.0) at the requester MAC, target IP 0', () => {
    const reply = arpReply({ op: 1, senderMac: REQUESTER, senderIp: 0, targetMac: 0, targetIp: parseIp('10.32.0.5') }, ANSWER);
    expect(parseArp(reply)).toEqual({ op: 2, senderMac: ANSWER, senderIp: parseIp('10.32.0.5'), targetMac: REQUESTER, targetIp: 0 });
    expect(reply.subarray(0, 6)).toEqual(hex('02 42 0a 20 00 02'));
  });

  test('only a request can be answered (checked by the type)', () => {
    const response: ArpResponse = { op: 2, senderMac: REQUESTER, senderIp: 1, targetMac: ANSWER, targetIp: 2 };
    // @ts-expect-error a reply is not a request
    expect(() => arpReply(response, ANSWER)).not.toThrow();
  });

  test('rejects what it cannot write', () => {
    expectRangeError(() => arpReply({ ...REQUEST_FIELDS, op: 1, senderMac: -1 }, ANSWER));
    expectRangeError(() => arpReply({ ...REQUEST_FIELDS, op: 1 }, 2 ** 48));
    expectRangeError(() => arpReply({ ...REQUEST_FIELDS, op: 1, senderIp: 2 ** 32 }, ANSWER));
    expectRangeError(() => arpReply({ ...REQUEST_FIELDS, op: 1, targetIp: -1 }, ANSWER));
    expectRangeError(() => arpReply({ ...REQUEST_FIELDS, op: 1, targetIp: 1.5 }, ANSWER));
  });
});

describe('gratuitousArp', () => {
  test('byte-exact: broadcast request, sender IP = target IP, target MAC zero', () => {
    const g = gratuitousArp(ANSWER, parseIp('10.32.0.5'));
    expect(g).toEqual(hex(`
      ff ff ff ff ff ff | 02 42 0a 20 00 05 | 08 06
      00 01 | 08 00 | 06 | 04 | 00 01
      02 42 0a 20 00 05 | 0a 20 00 05
      00 00 00 00 00 00 | 0a 20 00 05
      ${PAD}`));
    expect(parseArp(g)).toEqual({ op: 1, senderMac: ANSWER, senderIp: parseIp('10.32.0.5'), targetMac: 0, targetIp: parseIp('10.32.0.5') });
    expect(g.readUIntBE(0, 6)).toBe(BROADCAST_KEY);
  });

  test('extreme addresses', () => {
    const g = gratuitousArp(macKeyOf('fe:ff:ff:ff:ff:fe'), 0xffffffff);
    expect(g.subarray(22, 42)).toEqual(hex('fe ff ff ff ff fe | ff ff ff ff | 00 00 00 00 00 00 | ff ff ff ff'));
  });

  test('rejects what it cannot write', () => {
    expectRangeError(() => gratuitousArp(2 ** 48, 1));
    expectRangeError(() => gratuitousArp(ANSWER, -1));
    expectRangeError(() => gratuitousArp(ANSWER, 2 ** 32));
    expectRangeError(() => gratuitousArp(ANSWER, Number.NaN));
  });
});
