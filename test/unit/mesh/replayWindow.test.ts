import { ReplayTable, ReplayWindow, WINDOW } from '../../../src/mesh/replayWindow';
import { rng } from './helpers/random';

/** the rule, stated plainly: accept a counter never seen and not WINDOW or more below the highest seen */
class Model {
  private seen = new Set<number>();
  private top = -1;
  offer(c: number): boolean {
    if (this.seen.has(c) || this.top - c >= WINDOW) return false;
    this.seen.add(c);
    this.top = Math.max(this.top, c);
    return true;
  }
}

function offer(w: ReplayWindow, c: number): boolean {
  if (!w.check(c)) return false;
  w.mark(c);
  return true;
}

test('in order: every counter accepted once', () => {
  const w = new ReplayWindow();
  for (let c = 0; c < 5000; c++) expect(offer(w, c)).toBe(true);
  for (let c = 5000 - WINDOW; c < 5000; c++) expect(offer(w, c)).toBe(false);
  expect(w.highest).toBe(4999);
});

test('out of order within the window is accepted; duplicates and too-old are not', () => {
  const w = new ReplayWindow();
  expect(offer(w, 2000)).toBe(true);
  expect(offer(w, 2000 - WINDOW + 1)).toBe(true); // oldest slot still inside
  expect(offer(w, 2000 - WINDOW)).toBe(false); // just outside
  expect(offer(w, 1500)).toBe(true);
  expect(offer(w, 1500)).toBe(false);
  expect(offer(w, 1999)).toBe(true);
  expect(offer(w, 0)).toBe(false);
});

test('a big jump forgets the old window; slots reused after a lap are clean', () => {
  const w = new ReplayWindow();
  for (let c = 0; c < 10; c++) offer(w, c);
  expect(offer(w, 5 + WINDOW)).toBe(true); // slot of 5, one lap later
  expect(offer(w, 6 + WINDOW)).toBe(true);
  expect(offer(w, 7)).toBe(false); // seen before the jump, still inside the window
  expect(offer(w, 10)).toBe(true); // inside the window, never seen
  expect(offer(w, 6)).toBe(false); // too old now
  expect(offer(w, 100 * WINDOW)).toBe(true);
  expect(offer(w, 100 * WINDOW - 1)).toBe(true);
});

test('exhaustive: every sequence of 4 offers over boundary-crossing counters matches the model', () => {
  const values = [0, 1, 2, WINDOW - 1, WINDOW, WINDOW + 1, 2 * WINDOW - 1, 2 * WINDOW, 3 * WINDOW + 7];
  const n = values.length;
  let cases = 0;
  for (let code = 0; code < n ** 4; code++) {
    const seq = [code % n, Math.floor(code / n) % n, Math.floor(code / n ** 2) % n, Math.floor(code / n ** 3) % n].map((i) => values[i]);
    const w = new ReplayWindow();
    const m = new Model();
    for (const c of seq) {
      const got = offer(w, c);
      if (got !== m.offer(c)) throw new Error(`mismatch on ${seq.join(',')} at ${c}`);
    }
    cases++;
  }
  expect(cases).toBe(n ** 4);
});

test('random walks (reordering, duplicates, jumps) match the model over 200,000 offers', () => {
  const random = rng(7);
  const w = new ReplayWindow();
  const m = new Model();
  let base = 0;
  for (let i = 0; i < 200_000; i++) {
    const r = random();
    if (r < 0.6) base += 1;
    else if (r < 0.61) base += Math.floor(random() * 3 * WINDOW);
    const c = Math.max(0, base - Math.floor(random() * 1.5 * WINDOW * (random() < 0.5 ? 0.05 : 1)));
    if (offer(w, c) !== m.offer(c)) throw new Error(`mismatch at offer ${i}, counter ${c}`);
  }
});

test('ReplayTable keeps at most maxTracked windows, evicting the least recently used', () => {
  const t = new ReplayTable<string>(3);
  t.mark('a', 1, 'session a');
  t.mark('b', 1, 'session b');
  t.mark('c', 1, 'session c');
  t.mark('a', 2, 'ignored: a has its window'); // a is now the youngest
  t.mark('d', 1, 'session d'); // evicts b
  expect(t.size).toBe(3);
  expect(t.peek('b')).toBeUndefined();
  expect(t.peek('a')?.window.highest).toBe(2);
  expect(t.peek('a')?.session).toBe('session a');
  expect(t.peek('c')).toBeDefined();
  for (let i = 0; i < 10_000; i++) t.mark(`flood${i}`, 0, 'flood');
  expect(t.size).toBe(3);
  expect(() => new ReplayTable(0)).toThrow(RangeError);
});
