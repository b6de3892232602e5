import { MemoryTap } from '../../../../src/dataplane/tap/memory';
import { packFrames, unpackFrames } from '../../../../src/dataplane/tap/packed';
import type { TapDevice } from '../../../../src/dataplane/tap/tap';

const frame = (n: number, tag = 0) => Buffer.alloc(n, tag);

describe('MemoryTap', () => {
  test('is a TapDevice with a name', () => {
    const t: TapDevice = new MemoryTap('mt0');
    expect(t.name).toBe('mt0');
    expect(new MemoryTap().name).toBe('memtap0');
    expect(t.vnetHdr).toBe(0);
  });

  test('with virtio-net headers: frames carry them both ways, and the shortest is header + Ethernet header', () => {
    const t = new MemoryTap('mt1', { vnetHdr: 10 });
    expect(t.vnetHdr).toBe(10);
    const got: Buffer[] = [];
    t.start((p) => got.push(...unpackFrames(p)));
    t.inject([frame(24, 1), frame(64000, 2)]);
    expect(got).toEqual([frame(24, 1), frame(64000, 2)]);
    expect(t.write(packFrames([frame(23), frame(24, 3), frame(14), frame(65535, 4)]))).toBe(2);
    expect(t.written).toEqual([frame(24, 3), frame(65535, 4)]);
    expect(t.stats()).toMatchObject({ framesOut: 2, dropsOut: 2, framesIn: 2, bytesIn: 64024 });
  });

  test('a virtio-net header size other than 0 or 10 is refused', () => {
    expect(() => new MemoryTap('mt2', { vnetHdr: 12 })).toThrow(RangeError);
  });

  test('inject delivers a packed batch and its count to onBatch', () => {
    const t = new MemoryTap();
    const got: Array<[Buffer, number]> = [];
    t.start((p, n) => got.push([p, n]));
    const frames = [frame(60, 1), frame(98, 2), frame(1514, 3)];
    expect(t.inject(frames)).toBe(1);
    expect(got).toHaveLength(1);
    expect(got[0][1]).toBe(3);
    expect(got[0][0]).toEqual(packFrames(frames));
    expect(t.stats()).toMatchObject({ framesIn: 3, bytesIn: 60 + 98 + 1514, batches: 1 });
  });

  test('batches like the native reader: at most 64 frames', () => {
    const t = new MemoryTap();
    const counts: number[] = [];
    t.start((p, n) => {
      expect(unpackFrames(p)).toHaveLength(n);
      counts.push(n);
    });
    expect(t.inject(Array.from({ length: 200 }, (_, i) => frame(64, i)))).toBe(4);
    expect(counts).toEqual([64, 64, 64, 8]);
    expect(t.stats()).toMatchObject({ framesIn: 200, batches: 4 });
  });

  test('batches like the native reader: closed once it holds 64 KiB', () => {
    const t = new MemoryTap();
    const counts: number[] = [];
    t.start((_p, n) => counts.push(n));
    // 9000-byte jumbo frames: 8 of them (72016 bytes with lengths) pass 64 KiB
    t.inject(Array.from({ length: 20 }, () => frame(9000)));
    expect(counts).toEqual([8, 8, 4]);
  });

  test('frames injected before start wait for it', () => {
    const t = new MemoryTap();
    expect(t.inject([frame(60, 1)])).toBe(0);
    expect(t.inject([frame(60, 2)])).toBe(0);
    const got: Buffer[] = [];
    t.start((p) => got.push(...unpackFrames(p)));
    expect(got).toEqual([frame(60, 1), frame(60, 2)]);
  });

  test('write records the frames and counts them', () => {
    const t = new MemoryTap();
    expect(t.write(packFrames([frame(60, 1), frame(42, 2)]))).toBe(2);
    expect(t.write(Buffer.alloc(0))).toBe(0);
    expect(t.written).toEqual([frame(60, 1), frame(42, 2)]);
    expect(t.stats()).toMatchObject({ framesOut: 2, bytesOut: 102, dropsOut: 0 });
  });

  test('written frames are copies', () => {
    const t = new MemoryTap();
    const p = packFrames([frame(60, 1)]);
    t.write(p);
    p.fill(9);
    expect(t.written[0]).toEqual(frame(60, 1));
  });

  test('like the kernel, a frame shorter than an Ethernet header is dropped, not written', () => {
    const t = new MemoryTap();
    expect(t.write(packFrames([frame(13), frame(14), frame(1)]))).toBe(1);
    expect(t.stats()).toMatchObject({ framesOut: 1, dropsOut: 2 });
  });

  test('while full, writes drop every frame and say so', () => {
    const t = new MemoryTap();
    t.setFull(true);
    expect(t.write(packFrames([frame(60), frame(60)]))).toBe(0);
    t.setFull(false);
    expect(t.write(packFrames([frame(60)]))).toBe(1);
    expect(t.stats()).toMatchObject({ framesOut: 1, dropsOut: 2 });
  });

  test('a malformed batch throws before anything is written', () => {
    const t = new MemoryTap();
    const bad = Buffer.concat([packFrames([frame(60)]), Buffer.from([0x00, 0x10, 0x01])]);
    expect(() => t.write(bad)).toThrow(expect.objectContaining({ code: 'EMALFORMED' }));
    expect(t.written).toEqual([]);
    expect(t.stats().framesOut).toBe(0);
  });

  test('start twice is refused', () => {
    const t = new MemoryTap();
    t.start(() => undefined);
    expect(() => t.start(() => undefined)).toThrow(expect.objectContaining({ code: 'EALREADY' }));
  });

  test('close is idempotent; using it afterwards is ECLOSED; stats survive', () => {
    const t = new MemoryTap();
    t.start(() => undefined);
    t.inject([frame(60)]);
    t.close();
    t.close();
    expect(t.isClosed).toBe(true);
    expect(() => t.write(packFrames([frame(60)]))).toThrow(expect.objectContaining({ code: 'ECLOSED' }));
    expect(() => t.inject([frame(60)])).toThrow(expect.objectContaining({ code: 'ECLOSED' }));
    expect(() => t.start(() => undefined)).toThrow(expect.objectContaining({ code: 'ECLOSED' }));
    expect(t.stats().framesIn).toBe(1);
  });

  test('an onBatch that closes the tap stops further delivery', () => {
    const t = new MemoryTap();
    let batches = 0;
    t.start(() => {
      batches++;
      t.close();
    });
    t.inject(Array.from({ length: 130 }, () => frame(60)));
    expect(batches).toBe(1);
  });
});
