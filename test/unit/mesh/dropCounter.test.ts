import { DropCounter } from '../../../src/mesh/stats';

test('sum adds several counters by reason, keys sorted', () => {
  const a = new DropCounter();
  const b = new DropCounter();
  a.count('tooLarge');
  a.count('badMagic', 2);
  b.count('tooLarge', 3);
  b.count('badFrame');
  expect(DropCounter.sum([a, b])).toEqual({ badFrame: 1, badMagic: 2, tooLarge: 4 });
  expect(Object.keys(DropCounter.sum([a, b]))).toEqual(['badFrame', 'badMagic', 'tooLarge']);
  expect(DropCounter.sum([])).toEqual({});
});
