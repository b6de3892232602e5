import {
  allocFrame, ETH_ALEN, ETH_HLEN, ETH_P_ARP, ETH_P_IP, ETH_ZLEN, ethDst, ethSrc, ethType, isEthernet, writeEthHeader,
} from '../../../../src/dataplane/frames/ethernet';
import { BROADCAST_KEY, macKeyOf } from '../../../../src/dataplane/frames/mac';
import { expectRangeError, hex } from './helpers';

const FRAME = hex('ff ff ff ff ff ff | 02 42 0a 20 00 01 | 08 06 | 00 01');

test('constants', () => {
  expect([ETH_ALEN, ETH_HLEN, ETH_ZLEN, ETH_P_IP, ETH_P_ARP]).toEqual([6, 14, 60, 0x0800, 0x0806]);
});

test('isEthernet: 14 bytes or more', () => {
  for (let n = 0; n <= 20; n++) expect(isEthernet(Buffer.alloc(n))).toBe(n >= 14);
});

test('readers', () => {
  expect(ethDst(FRAME)).toBe(BROADCAST_KEY);
  expect(ethSrc(FRAME)).toBe(macKeyOf('02:42:0a:20:00:01'));
  expect(ethType(FRAME)).toBe(ETH_P_ARP);
  expect(ethType(hex('00 00 00 00 00 00 00 00 00 00 00 00 81 00'))).toBe(0x8100); // a VLAN tag shows as its TPID
});

test('each reader needs exactly its bytes and throws RangeError below that', () => {
  for (let n = 0; n < 14; n++) {
    const short = FRAME.subarray(0, n);
    if (n >= 6) expect(ethDst(short)).toBe(BROADCAST_KEY);
    else expectRangeError(() => ethDst(short));
    if (n >= 12) expect(ethSrc(short)).toBe(macKeyOf('02:42:0a:20:00:01'));
    else expectRangeError(() => ethSrc(short));
    expectRangeError(() => ethType(short));
  }
});

test('allocFrame: zeroed, padded to the 60-byte minimum', () => {
  expect(allocFrame(0)).toEqual(Buffer.alloc(60));
  expect(allocFrame(42)).toEqual(Buffer.alloc(60));
  expect(allocFrame(60)).toEqual(Buffer.alloc(60));
  expect(allocFrame(61)).toEqual(Buffer.alloc(61));
});

test('writeEthHeader is byte-exact and leaves the rest alone', () => {
  const f = Buffer.alloc(16, 0xee);
  writeEthHeader(f, BROADCAST_KEY, macKeyOf('02:42:0a:20:00:01'), ETH_P_IP);
  expect(f).toEqual(hex('ff ff ff ff ff ff | 02 42 0a 20 00 01 | 08 00 | ee ee'));
});

test('writeEthHeader rejects what it cannot write', () => {
  expectRangeError(() => writeEthHeader(Buffer.alloc(14), -1, 0, ETH_P_IP));
  expectRangeError(() => writeEthHeader(Buffer.alloc(14), 0, 2 ** 48, ETH_P_IP));
  expectRangeError(() => writeEthHeader(Buffer.alloc(14), 0, 0, 0x10000));
  expectRangeError(() => writeEthHeader(Buffer.alloc(13), 0, 0, ETH_P_IP));
});
