import { FakeScheduler } from '../../../src/util/scheduler';

test('timers fire in time then creation order, periodic ones repeat, cancel stops them', () => {
  const s = new FakeScheduler(0);
  const log: string[] = [];
  s.after(10, () => log.push(`a@${s.now()}`));
  s.after(5, () => log.push(`b@${s.now()}`));
  s.after(5, () => log.push(`c@${s.now()}`));
  const tick = s.every(4, () => log.push(`t@${s.now()}`));
  s.advance(9);
  expect(log).toEqual(['t@4', 'b@5', 'c@5', 't@8']);
  tick.cancel();
  s.advance(100);
  expect(log).toEqual(['t@4', 'b@5', 'c@5', 't@8', 'a@10']);
  expect(s.now()).toBe(109);
  expect(s.pending).toBe(0);
});

test('timers set by timers fire within the same advance when due', () => {
  const s = new FakeScheduler(0);
  const log: number[] = [];
  s.after(1, () => s.after(1, () => s.after(0, () => log.push(s.now()))));
  s.advance(2);
  expect(log).toEqual([2]);
});

test('many timers stay ordered', () => {
  const s = new FakeScheduler(0);
  const fired: number[] = [];
  for (let i = 0; i < 5000; i++) {
    const at = (i * 7919) % 1000;
    s.after(at, () => fired.push(at));
  }
  s.advance(1000);
  expect(fired).toHaveLength(5000);
  for (let i = 1; i < fired.length; i++) expect(fired[i]).toBeGreaterThanOrEqual(fired[i - 1]);
});
