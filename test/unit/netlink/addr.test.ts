import {
  formatCidr4, formatIpv4, formatMac, inSubnet, intToIpv4, ipv4ToInt, isValidUnicastMac, networkOf, normalizeMac,
  parseCidr4, parseIpv4, parseMac, prefixMask,
} from '../../../src/netlink/codec/addr';
import { DecodeError, EncodeError } from '../../../src/netlink/codec/errors';
import { hex } from './hex';

describe('MAC helpers', () => {
  test('parse and format, case-insensitive in, lower-case out', () => {
    expect(parseMac('02:42:0A:20:00:01')).toEqual(hex('02 42 0a 20 00 01'));
    expect(formatMac(hex('02 42 0a 20 00 01'))).toBe('02:42:0a:20:00:01');
    expect(normalizeMac('FF:ff:Ff:fF:ff:FF')).toBe('ff:ff:ff:ff:ff:ff');
    expect(formatMac(Buffer.alloc(0))).toBe('');
    expect(formatMac(hex('00 00 00 00'))).toBe('00:00:00:00'); // non-Ethernet hardware addresses
  });

  test.each(['', '02:42:0a:20:00', '02:42:0a:20:00:01:02', '02-42-0a-20-00-01', '2:42:a:20:0:1', '02:42:0a:20:00:0g', ' 02:42:0a:20:00:01', '0242.0a20.0001'])(
    'rejects %j', (mac) => {
      expect(() => parseMac(mac)).toThrow(EncodeError);
    });

  test('valid unicast: not multicast, not all-zero, 6 bytes', () => {
    expect(isValidUnicastMac(parseMac('02:00:00:00:00:01'))).toBe(true);
    expect(isValidUnicastMac(parseMac('00:00:00:00:00:00'))).toBe(false);
    expect(isValidUnicastMac(parseMac('01:00:5e:00:00:01'))).toBe(false);
    expect(isValidUnicastMac(parseMac('ff:ff:ff:ff:ff:ff'))).toBe(false);
    expect(isValidUnicastMac(hex('02 00 00 00 01'))).toBe(false);
  });
});

describe('IPv4 helpers', () => {
  test('parse and format', () => {
    expect(parseIpv4('10.32.0.1')).toEqual(hex('0a 20 00 01'));
    expect(parseIpv4('0.0.0.0')).toEqual(hex('00 00 00 00'));
    expect(parseIpv4('255.255.255.255')).toEqual(hex('ff ff ff ff'));
    expect(formatIpv4(hex('c0 00 02 01'))).toBe('192.0.2.1');
  });

  test.each(['', '1.2.3', '1.2.3.4.5', '256.0.0.1', '1.2.3.-1', '01.2.3.4', '1.2.3.4 ', '1.2.3.4/24', '::1', '1..3.4', 'a.b.c.d'])(
    'rejects %j', (ip) => {
      expect(() => parseIpv4(ip)).toThrow(EncodeError);
    });

  test('formatting needs exactly 4 bytes (a reply with a 16-byte address is malformed)', () => {
    expect(() => formatIpv4(Buffer.alloc(16))).toThrow(DecodeError);
    expect(() => formatIpv4(Buffer.alloc(3))).toThrow(DecodeError);
  });

  test('CIDR: host bits are kept, prefix 0..32 without leading zeros', () => {
    expect(parseCidr4('10.32.0.1/12')).toEqual({ ip: '10.32.0.1', bytes: hex('0a 20 00 01'), prefix: 12 });
    expect(parseCidr4('0.0.0.0/0').prefix).toBe(0);
    expect(parseCidr4('1.2.3.4/32').prefix).toBe(32);
    for (const bad of ['10.0.0.1', '10.0.0.1/', '10.0.0.1/33', '10.0.0.1/08', '10.0.0.1/-1', '/24', '10.0.0.1/24/1', '10.0.0.1/ 24']) {
      expect(() => parseCidr4(bad)).toThrow(EncodeError);
    }
    expect(formatCidr4(hex('0a 00 00 00'), 8)).toBe('10.0.0.0/8');
  });

  test('masks, networks, membership', () => {
    expect(prefixMask(0)).toBe(0);
    expect(prefixMask(12)).toBe(0xfff00000);
    expect(prefixMask(32)).toBe(0xffffffff);
    expect(formatIpv4(networkOf(parseIpv4('10.47.255.3'), 12))).toBe('10.32.0.0');
    expect(formatIpv4(networkOf(parseIpv4('10.47.255.3'), 0))).toBe('0.0.0.0');
    expect(formatIpv4(networkOf(parseIpv4('10.47.255.3'), 32))).toBe('10.47.255.3');
    expect(inSubnet(parseIpv4('10.47.1.1'), parseIpv4('10.32.0.0'), 12)).toBe(true);
    expect(inSubnet(parseIpv4('10.48.0.0'), parseIpv4('10.32.0.0'), 12)).toBe(false);
    expect(ipv4ToInt(parseIpv4('255.255.255.255'))).toBe(0xffffffff);
    expect(intToIpv4(0xc0000201)).toEqual(hex('c0 00 02 01'));
  });
});
