import { MTU_MAX, MTU_MIN, parseMtu } from '../../../src/network/mtu';

test.each([
  [1450, 1450], ['1450', 1450], [MTU_MIN, MTU_MIN], [String(MTU_MAX), MTU_MAX],
  [MTU_MIN - 1, undefined], [MTU_MAX + 1, undefined], ['575', undefined], ['65536', undefined],
  [1450.5, undefined], ['1450.0', undefined], [' 1450', undefined], ['0x5aa', undefined], ['', undefined], ['-1500', undefined],
  [undefined, undefined], [null, undefined], [true, undefined], [{}, undefined], [[1450], undefined], [NaN, undefined],
])('parseMtu(%p) = %p', (v, want) => {
  expect(parseMtu(v)).toBe(want);
});
