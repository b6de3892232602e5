import { nthSubnet, parseCidr, type Cidr } from '../../../../src/addr/cidr';
import { VNI_MAX, VNI_MIN, vniForSubnet } from '../../../../src/dataplane/frames/vni';
import { PROBE_VNI } from '../../../../src/dataplane/frames/vxlanProbe';
import { expectRangeError, rng } from './helpers';

/** the documented mapping in BigInt arithmetic: FNV-1a 32 over base (BE) + prefix, fmix32, modulo the range */
function reference(c: Cidr): number {
  const M = 0xffffffffn;
  let h = 0x811c9dc5n;
  const bytes = [...Buffer.from([c.base >>> 24, (c.base >>> 16) & 255, (c.base >>> 8) & 255, c.base & 255, c.prefix])];
  for (const b of bytes) h = ((h ^ BigInt(b)) * 0x01000193n) & M;
  h ^= h >> 16n;
  h = (h * 0x85ebca6bn) & M;
  h ^= h >> 13n;
  h = (h * 0xc2b2ae35n) & M;
  h ^= h >> 16n;
  return Number(0x100000n + (h % (0xfffffdn - 0x100000n + 1n)));
}

// pinned: the mapping is shared by every host of a cluster and must never change
const PINNED: Array<[string, number]> = [
  ['10.32.0.0/12', 0x51e159],
  ['10.32.0.0/16', 0x1e96dc],
  ['10.32.1.0/24', 0x543dfa],
  ['0.0.0.0/0', 0x6cef15],
  ['255.255.255.255/32', 0xaeb34b],
  ['172.18.0.0/16', 0x8226c1],
  ['192.168.0.0/24', 0x99269a],
  ['10.0.0.0/8', 0x36442e],
  ['10.0.0.0/16', 0x1337fb],
];

test('range constants: clear of Docker overlay (from 4096, upwards) and of the probe VNI', () => {
  expect([VNI_MIN, VNI_MAX]).toEqual([0x100000, 0xfffffd]);
  expect(PROBE_VNI).toBeGreaterThan(VNI_MAX);
});

test.each(PINNED)('%s → pinned value', (text, vni) => {
  expect(vniForSubnet(parseCidr(text))).toBe(vni);
  expect(reference(parseCidr(text))).toBe(vni);
});

test('agrees with the reference and stays in range on random subnets of every prefix', () => {
  const r = rng(0xfffffd);
  for (let i = 0; i < 3000; i++) {
    const prefix = i % 33;
    const c: Cidr = { base: (r(4).readUInt32BE(0) & (prefix === 0 ? 0 : 0xffffffff << (32 - prefix))) >>> 0, prefix };
    const v = vniForSubnet(c);
    expect(v).toBe(reference(c));
    expect(v).toBeGreaterThanOrEqual(VNI_MIN);
    expect(v).toBeLessThanOrEqual(VNI_MAX);
  }
});

test('the prefix matters: same base, different prefix, different VNI', () => {
  const vnis = [8, 12, 16, 20, 24].map((p) => vniForSubnet({ base: 0x0a000000, prefix: p }));
  expect(new Set(vnis).size).toBe(vnis.length);
});

test('deterministic: equal subnets give equal VNIs however they were made', () => {
  expect(vniForSubnet(parseCidr('10.32.5.0/24'))).toBe(vniForSubnet({ base: 0x0a200500, prefix: 24 }));
});

test('well mixed: collisions among all 65536 /24s of 10.0.0.0/8 close to the birthday expectation', () => {
  const outer = parseCidr('10.0.0.0/8');
  const seen = new Set<number>();
  let lowQuarter = 0;
  for (let i = 0; i < 65536; i++) {
    const v = vniForSubnet(nthSubnet(outer, 24, i));
    seen.add(v);
    if (v < VNI_MIN + (VNI_MAX - VNI_MIN) / 4) lowQuarter++;
  }
  const collisions = 65536 - seen.size;
  const expected = (65536 * 65535) / 2 / (VNI_MAX - VNI_MIN + 1); // ≈ 136.5
  expect(collisions).toBeGreaterThan(expected * 0.6);
  expect(collisions).toBeLessThan(expected * 1.4);
  expect(Math.abs(lowQuarter - 16384)).toBeLessThan(600); // ~5 standard deviations
});

test('no collisions among the /16s of 10.0.0.0/8 (Docker-style pools)', () => {
  const outer = parseCidr('10.0.0.0/8');
  const vnis = Array.from({ length: 256 }, (_, i) => vniForSubnet(nthSubnet(outer, 16, i)));
  expect(new Set(vnis).size).toBe(256);
});

test.each<[string, Cidr]>([
  ['host bits set', { base: 0x0a200501, prefix: 24 }],
  ['host bits set under /0', { base: 1, prefix: 0 }],
  ['prefix 33', { base: 0, prefix: 33 }],
  ['prefix -1', { base: 0, prefix: -1 }],
  ['prefix 1.5', { base: 0, prefix: 1.5 }],
  ['base -1', { base: -1, prefix: 32 }],
  ['base 2^32', { base: 2 ** 32, prefix: 32 }],
  ['base 0.5', { base: 0.5, prefix: 32 }],
])('rejects %s', (_what, c) => {
  expectRangeError(() => vniForSubnet(c));
});
