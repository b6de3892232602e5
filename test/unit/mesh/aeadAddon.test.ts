import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { loadAeadAddon } from '../../../src/mesh/aeadAddon';

const aead = loadAeadAddon();
const key = randomBytes(32);
const nonce = randomBytes(12);
const aad = Buffer.from('sixteen byte aad');

/** node:crypto's ChaCha20-Poly1305: the reference */
function reference(plain: Buffer): Buffer {
  const c = createCipheriv('chacha20-poly1305', key, nonce, { authTagLength: 16 });
  c.setAAD(aad, { plaintextLength: plain.length });
  return Buffer.concat([c.update(plain), c.final(), c.getAuthTag()]);
}

const code = (f: () => unknown): string | undefined => {
  try {
    f();
  } catch (e) {
    return `${(e as Error).name}:${(e as { code?: string }).code}`;
  }
  return undefined;
};

describe('weft-aead', () => {
  test('seal writes exactly ciphertext and tag at the offset, the bytes around untouched, and returns the end', () => {
    const h = aead.context(key);
    const plain = randomBytes(1000);
    const out = Buffer.alloc(1100, 0xaa);
    const end = aead.seal(h, nonce, aad, [plain.subarray(0, 10), plain.subarray(10)], out, 40);
    expect(end).toBe(40 + 1000 + 16);
    expect(out.subarray(40, end)).toEqual(reference(plain));
    expect(out.subarray(0, 40).every((b) => b === 0xaa)).toBe(true);
    expect(out.subarray(end).every((b) => b === 0xaa)).toBe(true);
  });

  test('many parts (more than a batch of frames), empty ones and a Uint8Array that is not a Buffer', () => {
    const h = aead.context(key);
    const parts: Uint8Array[] = [];
    for (let i = 0; i < 300; i++) parts.push(i % 7 === 0 ? new Uint8Array(0) : new Uint8Array(randomBytes(i % 50)));
    const plain = Buffer.concat(parts);
    const out = Buffer.alloc(plain.length + 16);
    expect(aead.seal(h, nonce, aad, parts, out, 0)).toBe(out.length);
    expect(out).toEqual(reference(plain));
  });

  test('open decrypts in place, only between start and end - 16; a flipped bit anywhere, the wrong aad or nonce: false', () => {
    const h = aead.context(key);
    const plain = randomBytes(5000);
    const sealed = Buffer.concat([Buffer.from('before'), reference(plain), Buffer.from('after')]);
    const end = sealed.length - 5;
    expect(aead.open(h, nonce, aad, Buffer.from(sealed), 6, end)).toBe(true);
    const buf = Buffer.from(sealed);
    aead.open(h, nonce, aad, buf, 6, end);
    expect(buf.subarray(6, end - 16)).toEqual(plain);
    expect(buf.subarray(0, 6).toString() + buf.subarray(end).toString()).toBe('beforeafter');
    for (const i of [6, 1000, end - 17, end - 16, end - 1]) {
      const g = Buffer.from(sealed);
      g[i] ^= 1;
      expect([i, aead.open(h, nonce, aad, g, 6, end)]).toEqual([i, false]);
    }
    expect(aead.open(h, nonce, Buffer.from('sixteen byte aaD'), Buffer.from(sealed), 6, end)).toBe(false);
    expect(aead.open(h, randomBytes(12), aad, Buffer.from(sealed), 6, end)).toBe(false);
    expect(aead.open(aead.context(randomBytes(32)), nonce, aad, Buffer.from(sealed), 6, end)).toBe(false);
  });

  test('a context is reused: seals and opens interleaved under many nonces agree with node:crypto', () => {
    const h = aead.context(key);
    for (let i = 0; i < 200; i++) {
      const n = randomBytes(12);
      const plain = randomBytes(i * 37);
      const out = Buffer.alloc(plain.length + 16);
      aead.seal(h, n, aad, [plain], out, 0);
      const d = createDecipheriv('chacha20-poly1305', key, n, { authTagLength: 16 });
      d.setAAD(aad, { plaintextLength: plain.length });
      d.setAuthTag(out.subarray(plain.length));
      expect(Buffer.concat([d.update(out.subarray(0, plain.length)), d.final()])).toEqual(plain);
      if (i % 3 === 0) expect(aead.open(h, randomBytes(12), aad, Buffer.from(out), 0, out.length)).toBe(false);
      expect(aead.open(h, n, aad, out, 0, out.length)).toBe(true);
      expect(out.subarray(0, plain.length)).toEqual(plain);
    }
  });

  test('rekey: the same handle then seals and opens under the new key only', () => {
    const other = randomBytes(32);
    const h = aead.context(other);
    aead.rekey(h, key);
    const plain = randomBytes(700);
    const out = Buffer.alloc(716);
    aead.seal(h, nonce, aad, [plain], out, 0);
    expect(out).toEqual(reference(plain));
    expect(aead.open(h, nonce, aad, Buffer.from(out), 0, out.length)).toBe(true);
    aead.rekey(h, other);
    expect(aead.open(h, nonce, aad, Buffer.from(out), 0, out.length)).toBe(false);
    aead.rekey(h, key);
    expect(aead.open(h, nonce, aad, out, 0, out.length)).toBe(true);
    expect(out.subarray(0, 700)).toEqual(plain);
  });

  test('bad arguments are TypeErrors (EINVAL); no room for the output, a RangeError (ERANGE); nothing is written', () => {
    const h = aead.context(key);
    const out = Buffer.alloc(64, 7);
    const bad: Array<[string, () => unknown]> = [
      ['context: short key', () => aead.context(Buffer.alloc(31))],
      ['context: not bytes', () => aead.context('k'.repeat(32) as unknown as Uint8Array)],
      ['context: no key', () => (aead.context as (...a: unknown[]) => unknown)()],
      ['rekey: no handle', () => aead.rekey({} as never, key)],
      ['rekey: short key', () => aead.rekey(h, Buffer.alloc(16))],
      ['rekey: no key', () => (aead.rekey as (...a: unknown[]) => unknown)(h)],
      ['seal: no handle', () => aead.seal({} as never, nonce, aad, [], out, 0)],
      ['seal: short nonce', () => aead.seal(h, nonce.subarray(1), aad, [], out, 0)],
      ['seal: aad not bytes', () => aead.seal(h, nonce, 'x' as unknown as Uint8Array, [], out, 0)],
      ['seal: parts not an array', () => aead.seal(h, nonce, aad, Buffer.alloc(3) as unknown as Uint8Array[], out, 0)],
      ['seal: a part not bytes', () => aead.seal(h, nonce, aad, [Buffer.alloc(1), 'x' as unknown as Uint8Array], out, 0)],
      ['seal: a Uint16Array part', () => aead.seal(h, nonce, aad, [new Uint16Array(2) as unknown as Uint8Array], out, 0)],
      ['seal: offset negative', () => aead.seal(h, nonce, aad, [], out, -1)],
      ['seal: offset fractional', () => aead.seal(h, nonce, aad, [], out, 1.5)],
      ['seal: offset past the end', () => aead.seal(h, nonce, aad, [], out, 65)],
      ['seal: too few arguments', () => (aead.seal as (...a: unknown[]) => number)(h, nonce, aad, [])],
      ['open: end past the buffer', () => aead.open(h, nonce, aad, out, 0, 65)],
      ['open: start after end', () => aead.open(h, nonce, aad, out, 40, 30)],
      ['open: shorter than a tag', () => aead.open(h, nonce, aad, out, 0, 15)],
    ];
    for (const [what, f] of bad) expect([what, code(f)]).toEqual([what, 'TypeError:EINVAL']);
    expect(code(() => aead.seal(h, nonce, aad, [Buffer.alloc(40)], out, 10))).toBe('RangeError:ERANGE');
    expect(code(() => aead.seal(h, nonce, aad, [Buffer.alloc(48)], out, 1))).toBe('RangeError:ERANGE');
    expect(out.every((b) => b === 7)).toBe(true);
    // exactly enough room is enough
    expect(aead.seal(h, nonce, aad, [Buffer.alloc(48)], out, 0)).toBe(64);
  });

  test('parts that change while being sealed (an index getter) are refused, never written past the counted room', () => {
    const h = aead.context(key);
    const parts: Uint8Array[] = [Buffer.alloc(4)];
    let reads = 0;
    Object.defineProperty(parts, 1, { enumerable: true, get: () => (reads++ === 0 ? Buffer.alloc(4) : Buffer.alloc(4000)) });
    const out = Buffer.alloc(8 + 16 + 8, 1);
    expect(code(() => aead.seal(h, nonce, aad, parts, out, 0))).toBe('TypeError:EINVAL');
    expect(out.subarray(24).every((b) => b === 1)).toBe(true);
  });
});
