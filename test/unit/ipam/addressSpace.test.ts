import { AddressSpace } from '../../../src/ipam/addressSpace';

describe('AddressSpace', () => {
  test('allocates in order and never twice', () => {
    const s = new AddressSpace(100, 199);
    const got = new Set<number>();
    for (let i = 0; i < 100; i++) {
      const ip = s.allocate();
      expect(ip).toBe(100 + i);
      got.add(ip!);
    }
    expect(got.size).toBe(100);
    expect(s.allocate()).toBeUndefined();
    expect(s.count).toBe(100);
    expect(s.free).toBe(0);
  });

  test('a released address is reused only after the rest of the range', () => {
    const s = new AddressSpace(0, 9);
    for (let i = 0; i < 3; i++) s.allocate(); // 0,1,2
    expect(s.release(1)).toBe(true);
    const next: number[] = [];
    for (let i = 0; i < 8; i++) next.push(s.allocate()!);
    expect(next).toEqual([3, 4, 5, 6, 7, 8, 9, 1]);
    expect(s.allocate()).toBeUndefined();
  });

  test('claim and release are exact', () => {
    const s = new AddressSpace(10, 20);
    expect(s.claim(15)).toBe(true);
    expect(s.claim(15)).toBe(false);
    expect(s.claim(9)).toBe(false);
    expect(s.claim(21)).toBe(false);
    expect(s.isTaken(15)).toBe(true);
    expect(s.release(15)).toBe(true);
    expect(s.release(15)).toBe(false);
    expect(s.release(9)).toBe(false);
    expect(s.count).toBe(0);
  });

  test('allocation skips claimed addresses', () => {
    const s = new AddressSpace(0, 99);
    for (let i = 0; i < 64; i++) s.claim(i);
    s.claim(65);
    expect(s.allocate()).toBe(64);
    expect(s.allocate()).toBe(66);
  });

  test('window restricts the search but not claims', () => {
    const s = new AddressSpace(0, 99);
    expect(s.allocate({ from: 50, to: 52 })).toBe(50);
    expect(s.allocate({ from: 50, to: 52 })).toBe(51);
    expect(s.allocate({ from: 50, to: 52 })).toBe(52);
    expect(s.allocate({ from: 50, to: 52 })).toBeUndefined();
    expect(s.claim(10)).toBe(true);
    expect(s.allocate({ from: 200, to: 300 })).toBeUndefined();
  });

  test('single-address space', () => {
    const s = new AddressSpace(7, 7);
    expect(s.allocate()).toBe(7);
    expect(s.allocate()).toBeUndefined();
    s.release(7);
    expect(s.allocate()).toBe(7);
  });

  test('cursor survives a restore', () => {
    const a = new AddressSpace(0, 9);
    a.allocate();
    a.allocate();
    a.release(0);
    const b = new AddressSpace(0, 9);
    b.claim(1);
    b.setNextOffset(a.nextOffset);
    expect(b.allocate()).toBe(2);
    b.setNextOffset(-5);
    expect(b.nextOffset).toBe(0);
  });

  test('random claims/releases against a Set model', () => {
    let seed = 42;
    const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) % n);
    const s = new AddressSpace(1000, 1000 + 300);
    const model = new Set<number>();
    for (let step = 0; step < 20000; step++) {
      const op = rnd(3);
      if (op === 0) {
        const ip = s.allocate();
        if (ip === undefined) expect(model.size).toBe(301);
        else {
          expect(model.has(ip)).toBe(false);
          model.add(ip);
        }
      } else if (op === 1) {
        const ip = 1000 + rnd(301);
        expect(s.claim(ip)).toBe(!model.has(ip));
        model.add(ip);
      } else {
        const ip = 1000 + rnd(301);
        expect(s.release(ip)).toBe(model.has(ip));
        model.delete(ip);
      }
      expect(s.count).toBe(model.size);
    }
  });

  test('fills a /12 exactly once', () => {
    const s = new AddressSpace(0, 2 ** 20 - 1);
    let n = 0;
    while (s.allocate() !== undefined) n++;
    expect(n).toBe(2 ** 20);
  });
});
