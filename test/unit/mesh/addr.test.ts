import { AddrError, DEFAULT_PORT, formatAddr, normalizeAddr, parseAddr, tryParseAddr } from '../../../src/mesh/transport/addr';

test('parses ip:port, defaulting the port to 6783', () => {
  expect(parseAddr('1.2.3.4:6783')).toEqual({ host: '1.2.3.4', port: 6783 });
  expect(parseAddr('10.0.0.255:1')).toEqual({ host: '10.0.0.255', port: 1 });
  expect(parseAddr('1.2.3.4')).toEqual({ host: '1.2.3.4', port: DEFAULT_PORT });
  expect(parseAddr('0.0.0.0', 9)).toEqual({ host: '0.0.0.0', port: 9 });
  expect(normalizeAddr('1.2.3.4')).toBe('1.2.3.4:6783');
  expect(formatAddr({ host: '127.0.0.1', port: 65535 })).toBe('127.0.0.1:65535');
});

test.each([
  ['', /empty/],
  ['1.2.3', /four dot-separated/],
  ['1.2.3.4.5', /four dot-separated/],
  ['256.1.1.1', /above 255/],
  ['01.2.3.4', /not a decimal octet/],
  ['a.b.c.d:1', /not a decimal octet/],
  ['host.example:6783', /four dot-separated/],
  ['1.2.3.4:', /port "" is not/],
  ['1.2.3.4:0', /port "0"/],
  ['1.2.3.4:65536', /port "65536"/],
  ['1.2.3.4:12ab', /port "12ab"/],
  ['1.2.3.4:+80', /port/],
  [' 1.2.3.4:80', /not a decimal octet/],
  ['[::1]:6783', /IPv6 is not supported/],
  ['::1', /IPv6 is not supported/],
])('refuses %j with a clear message', (input, message) => {
  expect(() => parseAddr(input)).toThrow(AddrError);
  expect(() => parseAddr(input)).toThrow(message);
  expect(() => parseAddr(input)).toThrow(new RegExp(`bad peer address ${JSON.stringify(input).replace(/[[\]+.]/g, '\\$&')}`));
  expect(tryParseAddr(input)).toBeUndefined();
});

test('formatAddr validates too', () => {
  expect(() => formatAddr({ host: '1.2.3', port: 1 })).toThrow(AddrError);
  expect(() => formatAddr({ host: '1.2.3.4', port: 0 })).toThrow(/port 0/);
  expect(() => formatAddr({ host: '1.2.3.4', port: 1.5 })).toThrow(AddrError);
});
