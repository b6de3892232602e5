import {
  CidrError, contains, containsCidr, equal, first, formatCidr, formatIp, isUsable, last, maskOf, nthSubnet, overlaps,
  parseAddressWithPrefix, parseCidr, parseIp, size, subnetCount, usable,
} from '../../../src/addr/cidr';

describe('parseIp / formatIp', () => {
  test.each([
    ['0.0.0.0', 0],
    ['255.255.255.255', 0xffffffff],
    ['10.32.0.1', 0x0a200001],
    ['192.168.91.1', 0xc0a85b01],
  ])('%s ↔ %d', (text, n) => {
    expect(parseIp(text)).toBe(n);
    expect(formatIp(n)).toBe(text);
  });
  test.each(['', '1.2.3', '1.2.3.4.5', '256.0.0.1', '01.2.3.4', 'a.b.c.d', '1.2.3.4/24', ' 1.2.3.4', '::1', '-1.0.0.0'])(
    'rejects %j',
    (t) => expect(() => parseIp(t)).toThrow(CidrError),
  );
  test('rejects non-strings', () => expect(() => parseIp(5 as unknown as string)).toThrow(CidrError));
  test('round-trips every octet value', () => {
    for (let o = 0; o < 256; o++) {
      const t = `${o}.${255 - o}.${o}.${(o * 7) % 256}`;
      expect(formatIp(parseIp(t))).toBe(t);
    }
  });
});

describe('parseCidr', () => {
  test.each([
    ['10.32.0.0/12', 0x0a200000, 12],
    ['0.0.0.0/0', 0, 0],
    ['10.40.0.50/32', 0x0a280032, 32],
    ['10.40.0.50/31', 0x0a280032, 31],
  ])('%s', (t, base, prefix) => {
    expect(parseCidr(t)).toEqual({ base, prefix });
    expect(formatCidr(parseCidr(t))).toBe(t);
  });
  test('host bits set are refused with the fix in the message', () => {
    expect(() => parseCidr('10.32.0.5/12')).toThrow('did you mean 10.32.0.0/12?');
  });
  test.each(['10.32.0.0', '10.32.0.0/', '10.32.0.0/33', '10.32.0.0/-1', '10.32.0.0/1.5', '10.32.0.0/012', 'x/12', '/12'])(
    'rejects %j',
    (t) => expect(() => parseCidr(t)).toThrow(CidrError),
  );
  test('address with prefix keeps host bits', () => {
    expect(parseAddressWithPrefix('10.32.0.77/12')).toEqual({ ip: 0x0a20004d, prefix: 12 });
  });
});

describe('arithmetic', () => {
  test('mask', () => {
    expect(maskOf(0)).toBe(0);
    expect(maskOf(1)).toBe(0x80000000);
    expect(maskOf(12)).toBe(0xfff00000);
    expect(maskOf(32)).toBe(0xffffffff);
  });
  test('size/first/last at the edges', () => {
    const all = parseCidr('0.0.0.0/0');
    expect(size(all)).toBe(2 ** 32);
    expect(first(all)).toBe(0);
    expect(last(all)).toBe(0xffffffff);
    const one = parseCidr('10.1.2.3/32');
    expect(size(one)).toBe(1);
    expect(first(one)).toBe(last(one));
    const top = parseCidr('255.255.255.0/24');
    expect(last(top)).toBe(0xffffffff);
  });
  test('usable excludes network and broadcast except /31 and /32', () => {
    expect(usable(parseCidr('10.40.0.0/24'))).toEqual({ lo: parseIp('10.40.0.1'), hi: parseIp('10.40.0.254') });
    expect(usable(parseCidr('10.40.0.0/30'))).toEqual({ lo: parseIp('10.40.0.1'), hi: parseIp('10.40.0.2') });
    expect(usable(parseCidr('10.40.0.0/31'))).toEqual({ lo: parseIp('10.40.0.0'), hi: parseIp('10.40.0.1') });
    expect(usable(parseCidr('10.40.0.9/32'))).toEqual({ lo: parseIp('10.40.0.9'), hi: parseIp('10.40.0.9') });
    const s = parseCidr('10.40.0.0/24');
    expect(isUsable(s, parseIp('10.40.0.0'))).toBe(false);
    expect(isUsable(s, parseIp('10.40.0.255'))).toBe(false);
    expect(isUsable(s, parseIp('10.40.0.1'))).toBe(true);
    expect(isUsable(s, parseIp('10.40.1.1'))).toBe(false);
  });
  test('contains / containsCidr / overlaps / equal', () => {
    const r = parseCidr('10.32.0.0/12');
    expect(contains(r, parseIp('10.47.255.255'))).toBe(true);
    expect(contains(r, parseIp('10.48.0.0'))).toBe(false);
    expect(contains(r, parseIp('10.31.255.255'))).toBe(false);
    expect(containsCidr(r, parseCidr('10.40.0.0/24'))).toBe(true);
    expect(containsCidr(r, parseCidr('10.32.0.0/12'))).toBe(true);
    expect(containsCidr(r, parseCidr('10.32.0.0/11'))).toBe(false);
    expect(containsCidr(r, parseCidr('10.50.0.0/24'))).toBe(false);
    expect(overlaps(r, parseCidr('10.0.0.0/8'))).toBe(true);
    expect(overlaps(parseCidr('10.0.0.0/8'), r)).toBe(true);
    expect(overlaps(parseCidr('10.40.0.0/24'), parseCidr('10.40.1.0/24'))).toBe(false);
    expect(overlaps(parseCidr('0.0.0.0/0'), parseCidr('1.2.3.4/32'))).toBe(true);
    expect(equal(parseCidr('10.40.0.0/24'), parseCidr('10.40.0.0/24'))).toBe(true);
    expect(equal(parseCidr('10.40.0.0/24'), parseCidr('10.40.0.0/25'))).toBe(false);
  });
  test('overlaps agrees with a brute-force check on small prefixes', () => {
    const cidrs: Array<{ base: number; prefix: number }> = [];
    for (let prefix = 28; prefix <= 32; prefix++) for (let b = 0; b < 32; b += 2 ** (32 - prefix)) cidrs.push({ base: b, prefix });
    for (const a of cidrs) for (const b of cidrs) {
      let brute = false;
      for (let ip = a.base; ip <= last(a); ip++) if (contains(b, ip)) brute = true;
      expect(overlaps(a, b)).toBe(brute);
    }
  });
  test('nthSubnet / subnetCount', () => {
    const r = parseCidr('10.32.0.0/12');
    expect(subnetCount(r, 20)).toBe(256);
    expect(subnetCount(r, 11)).toBe(0);
    expect(formatCidr(nthSubnet(r, 20, 0))).toBe('10.32.0.0/20');
    expect(formatCidr(nthSubnet(r, 20, 255))).toBe('10.47.240.0/20');
    expect(() => nthSubnet(r, 20, 256)).toThrow(CidrError);
    expect(() => nthSubnet(r, 11, 0)).toThrow(CidrError);
    expect(formatCidr(nthSubnet(parseCidr('0.0.0.0/0'), 1, 1))).toBe('128.0.0.0/1');
  });
});
