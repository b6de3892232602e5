import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { BOOT_KEY_SALT, bootKey, deriveKey, KDF, LAST_COUNTER, NONCE_BYTES, Opener, SEAL_OVERHEAD, Sealer, TAG_BYTES } from '../../../src/mesh/crypto';
import { WINDOW } from '../../../src/mesh/replayWindow';

/** bootKey(key of 'correct horse battery staple', '0123456789abcdef', 0xdeadbeef), computed by a separate HKDF (Python's hmac, RFC 5869 by hand) */
const PINNED_BOOT_KEY = '4e606bef08f23f5d6155eecda7fccdad315fb86d515a2b67dbf0fc9726126ae7';
const HEADER = Buffer.from('WEFT\x01\x01\x03\x000123456789abcdef', 'latin1');
const SENDER = '0123456789abcdef';
let key: Buffer;

beforeAll(() => {
  key = deriveKey('correct horse battery staple');
});

function seal(s: Sealer, plain: Buffer | string = 'data', aad = HEADER): Buffer {
  const p = Buffer.from(plain);
  const out = s.seal(aad, p);
  expect(out.length).toBe(p.length + SEAL_OVERHEAD);
  return out;
}

describe('deriveKey', () => {
  test('pinned vector: the KDF parameters are part of the protocol', () => {
    expect(KDF).toEqual({ salt: 'weft mesh v1', N: 32768, r: 8, p: 1 });
    expect(key.toString('hex')).toBe('588724c6d8f7c58775d10b8eed30794a4e25b609f311b10e3203a5d45283de10');
  });

  test('32 bytes, deterministic, password-dependent; empty refused', () => {
    expect(deriveKey('a')).toEqual(deriveKey('a'));
    expect(deriveKey('a')).toHaveLength(32);
    expect(deriveKey('a')).not.toEqual(deriveKey('b'));
    expect(() => deriveKey('')).toThrow(TypeError);
  });

  test('keys must be 32 bytes', () => {
    expect(() => new Sealer(Buffer.alloc(16), SENDER)).toThrow(/32 bytes/);
    expect(() => new Opener(Buffer.alloc(31))).toThrow(/32 bytes/);
  });
});

describe('bootKey', () => {
  test('pinned vector: HKDF-SHA256 of the mesh key, salt and info as documented', () => {
    expect(BOOT_KEY_SALT).toBe('weft mesh v2 boot key');
    expect(bootKey(key, '0123456789abcdef', 0xdeadbeef).toString('hex')).toBe(PINNED_BOOT_KEY);
  });

  test('one key per sender and epoch; bad input refused', () => {
    const keys = new Set<string>();
    for (const sender of ['0123456789abcdef', '0123456789abcdee', 'ffffffffffffffff'])
      for (const epoch of [0, 1, 0xffffffff]) keys.add(bootKey(key, sender, epoch).toString('hex'));
    expect(keys.size).toBe(9);
    expect(bootKey(key, SENDER, 5)).toEqual(bootKey(key, SENDER, 5));
    expect(bootKey(key, SENDER, 5)).not.toEqual(bootKey(deriveKey('other'), SENDER, 5));
    expect(() => bootKey(key, 'ABCDEF0123456789', 1)).toThrow(TypeError);
    expect(() => bootKey(key, 'abc', 1)).toThrow(TypeError);
    expect(() => bootKey(key, SENDER, 2 ** 32)).toThrow(RangeError);
    expect(() => bootKey(key, SENDER, -1)).toThrow(RangeError);
    expect(() => bootKey(Buffer.alloc(31), SENDER, 1)).toThrow(/32 bytes/);
  });

  test('two peers that drew the same epoch seal under different keys: the same nonce, different ciphertext, neither opens as the other', () => {
    const a = seal(new Sealer(key, '00000000000000aa', { epoch: 42 }), 'same plaintext');
    const b = seal(new Sealer(key, '00000000000000bb', { epoch: 42 }), 'same plaintext');
    expect(a.subarray(0, NONCE_BYTES)).toEqual(b.subarray(0, NONCE_BYTES));
    expect(a.subarray(NONCE_BYTES)).not.toEqual(b.subarray(NONCE_BYTES));
    const o = new Opener(key);
    expect(o.open(HEADER, '00000000000000bb', Buffer.from(a))).toBe('authFailed');
    expect(o.open(HEADER, '00000000000000aa', Buffer.from(a))).toEqual(Buffer.from('same plaintext'));
    expect(o.open(HEADER, '00000000000000bb', Buffer.from(b))).toEqual(Buffer.from('same plaintext'));
  });
});

describe('Sealer', () => {
  test('nonce = epoch + big-endian counter; 20,000 nonces all distinct', () => {
    const s = new Sealer(key, SENDER, { epoch: 0xdeadbeef });
    const nonces = new Set<string>();
    for (let i = 0; i < 20_000; i++) {
      const f = seal(s);
      expect(f.readUInt32BE(0)).toBe(0xdeadbeef);
      if (i < 3 || i === 19_999) expect(f.readBigUInt64BE(4)).toBe(BigInt(i));
      nonces.add(f.subarray(0, NONCE_BYTES).toString('hex'));
    }
    expect(nonces.size).toBe(20_000);
    expect(s.nextCounter).toBe(20_000);
  });

  test('two sealers (two boots) pick different random epochs', () => {
    const epochs = new Set(Array.from({ length: 50 }, () => new Sealer(key, SENDER).epoch));
    expect(epochs.size).toBeGreaterThan(45);
  });

  test('same plaintext, different ciphertext each time', () => {
    const s = new Sealer(key, SENDER);
    expect(seal(s, 'same').subarray(NONCE_BYTES)).not.toEqual(seal(s, 'same').subarray(NONCE_BYTES));
  });

  test('counters past 2^32 are written in both halves', () => {
    const s = new Sealer(key, SENDER, { firstCounter: 2 ** 32 + 5 });
    expect(seal(s).readBigUInt64BE(4)).toBe(2n ** 32n + 5n);
    expect(new Opener(key).open(HEADER, SENDER, seal(new Sealer(key, SENDER, { firstCounter: 2 ** 40 })))).toEqual(Buffer.from('data'));
  });

  test('refuses to go past the last counter rather than reuse a nonce', () => {
    const s = new Sealer(key, SENDER, { firstCounter: LAST_COUNTER });
    expect(seal(s).readBigUInt64BE(4)).toBe(BigInt(LAST_COUNTER));
    expect(() => s.seal(HEADER, Buffer.from('x'))).toThrow(/nonce counter exhausted/);
    expect(() => s.seal(HEADER, Buffer.from('x'))).toThrow(/nonce counter exhausted/);
  });

  test('parts: sealed as their concatenation, into a buffer of its own that the next seal leaves alone', () => {
    const s = new Sealer(key, SENDER, { epoch: 9, firstCounter: 41 });
    const first = s.seal(HEADER, [Buffer.from('hel'), Buffer.alloc(0), Buffer.from('lo')]);
    const copy = Buffer.from(first);
    s.seal(HEADER, Buffer.from('next'));
    expect(first).toEqual(copy);
    expect(first.readBigUInt64BE(4)).toBe(41n);
    // the same bytes as the parts sealed as one buffer, under the same nonce
    expect(first).toEqual(seal(new Sealer(key, SENDER, { epoch: 9, firstCounter: 41 }), 'hello'));
    expect(new Opener(key).open(HEADER, SENDER, first)).toEqual(Buffer.from('hello'));
  });

  test('into: written at its start when it has room (a view of it), else a buffer of its own; the same bytes either way', () => {
    const into = Buffer.alloc(100, 0xee);
    const a = new Sealer(key, SENDER, { epoch: 5 }).seal(HEADER, Buffer.from('x'.repeat(72)), into);
    expect(a.buffer === into.buffer && a.byteOffset === into.byteOffset && a.length === 100).toBe(true);
    const b = new Sealer(key, SENDER, { epoch: 5 }).seal(HEADER, Buffer.from('x'.repeat(72)));
    expect(a).toEqual(b);
    const small = Buffer.alloc(99, 0xee);
    const c = new Sealer(key, SENDER, { epoch: 5 }).seal(HEADER, Buffer.from('x'.repeat(72)), small);
    expect(c.buffer === small.buffer).toBe(false);
    expect(c).toEqual(b);
    expect(small.every((x) => x === 0xee)).toBe(true);
  });

  test('standard ChaCha20-Poly1305 (RFC 8439, as node:crypto does it): sealed frames of many sizes and splits open there', () => {
    const s = new Sealer(key, SENDER, { epoch: 0x01020304 });
    for (const size of [0, 1, 15, 16, 17, 63, 64, 65, 1000, 4096, 65_000 - 16 - 28]) {
      const plain = randomBytes(size);
      // split unevenly, so that parts end inside the cipher's 64-byte blocks
      const cut = [0, Math.floor(size / 3), Math.floor(size / 3) + 7, size].map((x) => Math.min(x, size));
      const parts = [plain.subarray(cut[0], cut[1]), plain.subarray(cut[1], cut[2]), plain.subarray(cut[2], cut[3])];
      const f = s.seal(HEADER, parts);
      const d = createDecipheriv('chacha20-poly1305', bootKey(key, SENDER, 0x01020304), f.subarray(0, NONCE_BYTES), { authTagLength: TAG_BYTES });
      d.setAAD(HEADER, { plaintextLength: size });
      d.setAuthTag(f.subarray(f.length - TAG_BYTES));
      expect(Buffer.concat([d.update(f.subarray(NONCE_BYTES, f.length - TAG_BYTES)), d.final()])).toEqual(plain);
    }
  });
});

describe('Opener', () => {
  test('wrong key, tampered AAD, nonce, ciphertext or tag → authFailed', () => {
    const f = seal(new Sealer(key, SENDER), 'secret');
    // each open gets a copy: opening decrypts in place
    expect(new Opener(key).open(HEADER, SENDER, Buffer.from(f))).toEqual(Buffer.from('secret'));
    expect(new Opener(deriveKey('wrong')).open(HEADER, SENDER, Buffer.from(f))).toBe('authFailed');
    const aad = Buffer.from(HEADER);
    aad[15] ^= 1;
    expect(new Opener(key).open(aad, SENDER, Buffer.from(f))).toBe('authFailed');
    for (const i of [0, 5, NONCE_BYTES, f.length - TAG_BYTES - 1, f.length - 1]) {
      const g = Buffer.from(f);
      g[i] ^= 0x80;
      expect(new Opener(key).open(HEADER, SENDER, g)).toBe('authFailed');
    }
    expect(new Opener(key).open(HEADER, SENDER, f.subarray(0, SEAL_OVERHEAD - 1))).toBe('tooShort');
    // and the untouched frame still opens after all that
    expect(new Opener(key).open(HEADER, SENDER, f)).toEqual(Buffer.from('secret'));
  });

  test('opens in place: the plaintext is a view of the frame, between nonce and tag', () => {
    const f = seal(new Sealer(key, SENDER), 'in place');
    const r = new Opener(key).open(HEADER, SENDER, f);
    expect(Buffer.isBuffer(r) && r.buffer === f.buffer && r.byteOffset === f.byteOffset + NONCE_BYTES).toBe(true);
    expect(f.subarray(NONCE_BYTES, f.length - TAG_BYTES).toString()).toBe('in place');
  });

  test('frames sealed by node:crypto open (the same standard cipher both ways)', () => {
    const nonce = Buffer.alloc(NONCE_BYTES);
    nonce.writeUInt32BE(77, 0);
    const plain = randomBytes(3000);
    const c = createCipheriv('chacha20-poly1305', bootKey(key, SENDER, 77), nonce, { authTagLength: TAG_BYTES });
    c.setAAD(HEADER, { plaintextLength: plain.length });
    const sealed = Buffer.concat([nonce, c.update(plain), c.final(), c.getAuthTag()]);
    expect(new Opener(key).open(HEADER, SENDER, sealed)).toEqual(plain);
  });

  test('replay: in order, out of order within the window, duplicates, too old, new epoch', () => {
    const s = new Sealer(key, SENDER, { epoch: 1 });
    const frames = Array.from({ length: WINDOW + 10 }, (_, i) => seal(s, `m${i}`));
    const o = new Opener(key);
    const open = (f: Buffer) => {
      const r = o.open(HEADER, SENDER, Buffer.from(f)); // a copy: opening decrypts in place
      return typeof r === 'string' ? r : r.toString();
    };
    expect(open(frames[0])).toBe('m0');
    expect(open(frames[1])).toBe('m1');
    expect(open(frames[1])).toBe('replay');
    expect(open(frames[5])).toBe('m5');
    expect(open(frames[3])).toBe('m3'); // late but inside the window
    expect(open(frames[3])).toBe('replay');
    expect(open(frames[WINDOW + 9])).toBe(`m${WINDOW + 9}`);
    expect(open(frames[9])).toBe('replay'); // now WINDOW below the highest: too old
    expect(open(frames[10])).toBe('m10'); // oldest still inside, never seen
    // the sender restarts: a new epoch gets a new window, counters from 0 again
    const again = new Sealer(key, SENDER, { epoch: 2 });
    expect(open(seal(again, 'reboot'))).toBe('reboot');
    // and the same epoch and counters from another sender are independent
    const other = new Sealer(key, 'ffffffffffffffff', { epoch: 1 });
    expect(o.open(HEADER, 'ffffffffffffffff', seal(other, 'm0'))).toEqual(Buffer.from('m0'));
    expect(o.tracked).toBe(3);
  });

  test('a forged frame moves no window and creates no state', () => {
    const s = new Sealer(key, SENDER, { epoch: 9, firstCounter: 100 });
    const good = seal(s);
    const forged = seal(new Sealer(deriveKey('attacker'), SENDER, { epoch: 9, firstCounter: 100_000 }));
    const o = new Opener(key);
    expect(o.open(HEADER, SENDER, forged)).toBe('authFailed');
    expect(o.tracked).toBe(0);
    expect(o.open(HEADER, SENDER, good)).toEqual(Buffer.from('data'));
  });

  test('tracked sender boots are bounded (LRU)', () => {
    const o = new Opener(key, { maxTracked: 8 });
    for (let e = 0; e < 100; e++) expect(o.open(HEADER, SENDER, seal(new Sealer(key, SENDER, { epoch: e })))).toEqual(Buffer.from('data'));
    expect(o.tracked).toBe(8);
  });

  test('a counter past LAST_COUNTER: replay if authentic, authFailed if not', () => {
    const f = seal(new Sealer(key, SENDER, { epoch: 3 }));
    f.writeUInt32BE(0x00200000, 4); // rewriting the nonce breaks the tag
    expect(new Opener(key).open(HEADER, SENDER, f)).toBe('authFailed');
    // an authentic frame from a sealer that went further than ours ever do (built by hand)
    const nonce = Buffer.alloc(NONCE_BYTES);
    nonce.writeBigUInt64BE(2n ** 53n, 4);
    const c = createCipheriv('chacha20-poly1305', bootKey(key, SENDER, 0), nonce, { authTagLength: TAG_BYTES });
    c.setAAD(HEADER, { plaintextLength: 4 });
    const sealed = Buffer.concat([nonce, c.update('data'), c.final(), c.getAuthTag()]);
    expect(new Opener(key).open(HEADER, SENDER, sealed)).toBe('replay');
  });
});
