import { TapError } from '../../../../src/dataplane/tap/errors';
import { MAX_PACKED_FRAME, packFrames, unpackFrames } from '../../../../src/dataplane/tap/packed';

const bytes = (n: number, seed = 1) => Buffer.from(Array.from({ length: n }, (_, i) => (i * 7 + seed) & 0xff));
const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

function expectMalformed(packed: Buffer, message: RegExp): void {
  let thrown: unknown;
  try {
    unpackFrames(packed);
  } catch (e) {
    thrown = e;
  }
  expect(thrown).toBeInstanceOf(TapError);
  expect(thrown).toMatchObject({ code: 'EMALFORMED' });
  expect((thrown as Error).message).toMatch(message);
}

describe('packFrames', () => {
  test('no frames: an empty batch', () => {
    expect(packFrames([])).toEqual(Buffer.alloc(0));
  });

  test('one frame: big-endian length, then the bytes', () => {
    expect(packFrames([hex('aabbcc')])).toEqual(hex('0003 aabbcc'));
    expect(packFrames([bytes(0x1234)]).subarray(0, 2)).toEqual(hex('1234'));
  });

  test('many frames back to back, in order', () => {
    expect(packFrames([hex('01'), hex('0203'), hex('040506')])).toEqual(hex('0001 01 0002 0203 0003 040506'));
  });

  test('copies: changing a frame afterwards does not change the batch', () => {
    const f = hex('0102');
    const p = packFrames([f]);
    f[0] = 0xff;
    expect(p).toEqual(hex('0002 0102'));
  });

  test('a frame of exactly 65535 bytes fits; 65536 does not', () => {
    const p = packFrames([bytes(MAX_PACKED_FRAME)]);
    expect(p.length).toBe(2 + 0xffff);
    expect(p.readUInt16BE(0)).toBe(0xffff);
    expect(() => packFrames([bytes(10), bytes(0x10000)])).toThrow(/frame 1 is 65536 bytes/);
  });

  test('a zero-length frame is refused (no Ethernet frame is empty)', () => {
    expect(() => packFrames([hex('01'), Buffer.alloc(0)])).toThrow(TapError);
    try {
      packFrames([Buffer.alloc(0)]);
    } catch (e) {
      expect(e).toMatchObject({ code: 'EFRAMESIZE', name: 'TapError' });
      expect((e as Error).message).toMatch(/frame 0 is 0 bytes; a packed frame is 1\.\.65535 bytes/);
    }
  });
});

describe('unpackFrames', () => {
  test('an empty batch has no frames', () => {
    expect(unpackFrames(Buffer.alloc(0))).toEqual([]);
  });

  test('one frame', () => {
    expect(unpackFrames(hex('0003 aabbcc'))).toEqual([hex('aabbcc')]);
  });

  test('many frames, in order', () => {
    expect(unpackFrames(hex('0001 01 0002 0203 0003 040506'))).toEqual([hex('01'), hex('0203'), hex('040506')]);
  });

  test('round trip, including 1-byte and 65535-byte frames', () => {
    const frames = [bytes(1), bytes(60, 3), bytes(1514, 5), bytes(MAX_PACKED_FRAME, 9), bytes(14, 11)];
    expect(unpackFrames(packFrames(frames))).toEqual(frames);
  });

  test('frames are views into the batch, not copies', () => {
    const p = hex('0002 0102');
    const [f] = unpackFrames(p);
    expect(f.buffer).toBe(p.buffer);
    p[2] = 0xee;
    expect(f[0]).toBe(0xee);
  });

  test('works on a batch that is itself a slice of a bigger buffer', () => {
    const big = hex('ffff 0001 aa 0002 bbcc ffff');
    expect(unpackFrames(big.subarray(2, big.length - 2))).toEqual([hex('aa'), hex('bbcc')]);
  });

  test('truncated body: a length running past the end', () => {
    expectMalformed(hex('0005 0102'), /frame 0 at offset 0 claims 5 bytes, only 2 remain/);
    expectMalformed(hex('0001 aa 0003 bbcc'), /frame 1 at offset 3 claims 3 bytes, only 2 remain/);
    expectMalformed(hex('0001 aa 0001'), /frame 1 at offset 3 claims 1 bytes, only 0 remain/);
  });

  test('truncated length: one stray byte at the end', () => {
    expectMalformed(hex('00'), /1 stray byte at offset 0/);
    expectMalformed(hex('0001 aa 00'), /1 stray byte at offset 3 after frame 0/);
  });

  test('a zero length is malformed', () => {
    expectMalformed(hex('0000'), /frame 0 at offset 0 has length 0/);
    expectMalformed(hex('0001 aa 0000 0001 bb'), /frame 1 at offset 3 has length 0/);
  });

  test('a malformed batch yields nothing, even when its first frames are fine', () => {
    expect(() => unpackFrames(hex('0001 aa 0001 bb 0009 cc'))).toThrow(TapError);
  });
});
