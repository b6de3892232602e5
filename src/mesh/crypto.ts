/**
 * Mesh encryption: a key derived from the shared password, a key of its own for
 * every sender boot derived from that, ChaCha20-Poly1305 per frame, nonces that
 * never repeat within a boot, and replay refusal on the receiving side. The
 * exact wire layout is in docs/mesh-protocol.md. The cipher is OpenSSL's,
 * through the weft-aead addon (aeadAddon.ts), which seals into one buffer and
 * opens in place.
 */
import { hkdfSync, randomBytes, scryptSync } from 'node:crypto';
import { type AeadAddon, type AeadHandle, loadAeadAddon } from './aeadAddon';
import { isPeerId, type PeerId } from './peerId';
import { ReplayTable } from './replayWindow';
import { byteLength, type Bytes, isParts } from './transport/bytes';

export const KEY_BYTES = 32;
export const NONCE_BYTES = 12;
export const TAG_BYTES = 16;
/** bytes a sealed payload adds: nonce before, tag after */
export const SEAL_OVERHEAD = NONCE_BYTES + TAG_BYTES;
/**
 * Last nonce counter this implementation uses or accepts. The wire field is 64
 * bits, but counters stay exact JavaScript numbers; 2^53 frames is centuries of
 * traffic, and a sealer refuses to go past it rather than reuse a nonce.
 */
export const LAST_COUNTER = Number.MAX_SAFE_INTEGER;

/**
 * scrypt parameters. The salt is fixed and public on purpose: every peer must
 * derive the same key from the same password with no exchange first, so a
 * per-peer random salt is impossible. The cost (N=2^15) is what slows guessing.
 */
export const KDF = { salt: 'weft mesh v1', N: 2 ** 15, r: 8, p: 1 } as const;

const TWO_32 = 2 ** 32;

export function deriveKey(password: string): Buffer {
  if (typeof password !== 'string' || password.length === 0) throw new TypeError('the mesh password must be a non-empty string');
  // scrypt needs a little over 128*N*r bytes (32 MiB), which Node's default maxmem refuses
  return scryptSync(password.normalize('NFC'), KDF.salt, KEY_BYTES, { N: KDF.N, r: KDF.r, p: KDF.p, maxmem: 64 * 1024 * 1024 });
}

/** HKDF's salt for boot keys (see bootKey) */
export const BOOT_KEY_SALT = 'weft mesh v2 boot key';

function checkKey(key: Buffer): void {
  if (!Buffer.isBuffer(key) || key.length !== KEY_BYTES) throw new TypeError(`a mesh key is ${KEY_BYTES} bytes`);
}

/**
 * The key one sender boot seals with: HKDF-SHA256 of the mesh key, info = sender id (8 bytes) | epoch
 * (4 bytes, big-endian). Why: every peer derives the same mesh key from the password, and a nonce is
 * unique only within one boot (its random epoch and its counter). With one key for all, two boots
 * anywhere in the mesh that drew the same epoch would seal different frames under the same key and
 * nonce, which gives away both plaintexts' XOR and lets their MAC key be forged; by the birthday bound
 * that is about one chance in 26 for a mesh that sees 18,000 boots (50 hosts restarted daily for a
 * year). With a key per boot, a nonce repeats only if one host draws the same epoch twice.
 */
export function bootKey(key: Buffer, sender: PeerId, epoch: number): Buffer {
  checkKey(key);
  if (!isPeerId(sender)) throw new TypeError(`bad sender peer id ${JSON.stringify(sender)}`);
  if (!Number.isInteger(epoch) || epoch < 0 || epoch >= TWO_32) throw new RangeError('epoch must be a u32');
  const info = Buffer.alloc(12);
  info.write(sender, 0, 8, 'hex');
  info.writeUInt32BE(epoch, 8);
  return Buffer.from(hkdfSync('sha256', key, BOOT_KEY_SALT, info, KEY_BYTES));
}

export interface SealerOptions {
  /** the 4-byte nonce prefix; random by default (the boot epoch) */
  epoch?: number;
  /** first counter to use; for tests of exhaustion */
  firstCounter?: number;
}

/**
 * Seals one peer's frames for one process (a boot). Nonce = epoch (4 random bytes, fixed for the
 * Sealer's life) + 8-byte big-endian counter, under the boot's own key (bootKey); one Sealer
 * per process.
 */
export class Sealer {
  readonly epoch: number;
  private readonly aead: AeadAddon;
  private readonly handle: AeadHandle;
  private counter: number;
  private readonly nonce = Buffer.alloc(NONCE_BYTES);

  /** key: the mesh key (deriveKey); sender: the peer whose frames these are (the id in their header) */
  constructor(
    key: Buffer,
    readonly sender: PeerId,
    o: SealerOptions = {},
  ) {
    this.epoch = o.epoch ?? randomBytes(4).readUInt32BE(0);
    const k = bootKey(key, sender, this.epoch);
    this.aead = loadAeadAddon();
    this.handle = this.aead.context(k);
    this.counter = o.firstCounter ?? 0;
    if (!Number.isSafeInteger(this.counter) || this.counter < 0) throw new RangeError('firstCounter must be a non-negative safe integer');
    this.nonce.writeUInt32BE(this.epoch, 0);
  }

  /** frames sealed so far (the next counter, when starting at 0) */
  get nextCounter(): number {
    return this.counter;
  }

  /**
   * nonce | ciphertext | tag for plaintext (plaintext + SEAL_OVERHEAD bytes), authenticating aad
   * too. Parts are encrypted as one stream, straight from where they lie: the same ciphertext as
   * their concatenation, without making it. Written at the start of `into` when it is given and
   * has room (a view of it is returned), else into a new buffer: a caller that sends from one
   * reused buffer spares the allocation and the fresh pages the cipher would fault in for every
   * 64 KiB sleeve message.
   */
  seal(aad: Uint8Array, plaintext: Bytes, into?: Buffer): Buffer {
    const c = this.counter;
    if (c > LAST_COUNTER) throw new RangeError('nonce counter exhausted: refusing to reuse a nonce');
    this.counter = c + 1;
    const n = this.nonce;
    n.writeUInt32BE(Math.floor(c / TWO_32), 4);
    n.writeUInt32BE(c >>> 0, 8);
    const size = byteLength(plaintext) + SEAL_OVERHEAD;
    // allocUnsafe: every byte is written below (nonce, ciphertext, tag)
    const out = into && into.length >= size ? into.subarray(0, size) : Buffer.allocUnsafe(size);
    n.copy(out, 0);
    this.aead.seal(this.handle, n, aad, isParts(plaintext) ? plaintext : [plaintext], out, NONCE_BYTES);
    return out;
  }
}

export type OpenFailure = 'authFailed' | 'replay' | 'tooShort';

export interface OpenerOptions {
  /** sender boots whose replay windows are kept (LRU beyond) */
  maxTracked?: number;
}

/** Verifies and decrypts frames from every peer, refusing replays. */
export class Opener {
  private readonly aead: AeadAddon;
  /** per sender boot: its replay window, and its key's cipher context (made once it authenticated a frame) */
  private readonly replay: ReplayTable<AeadHandle>;
  /**
   * re-keyed for each frame of a boot not seen yet: frames anyone can forge then cost a key
   * derivation but never a context, which is native memory V8 does not see
   */
  private readonly trial: AeadHandle;

  constructor(
    private readonly key: Buffer,
    o: OpenerOptions = {},
  ) {
    checkKey(key);
    this.aead = loadAeadAddon();
    this.replay = new ReplayTable(o.maxTracked ?? 4096);
    this.trial = this.aead.context(key);
  }

  /** sender boots currently tracked */
  get tracked(): number {
    return this.replay.size;
  }

  /**
   * Opens sealed = nonce | ciphertext | tag from sender (its peer id), with aad
   * the authenticated header. Returns the plaintext or why it was refused; never throws.
   * Decrypts in place: the plaintext is a view of sealed, and a frame refused as
   * authFailed is left overwritten (a received datagram is its reader's own to change).
   */
  open(aad: Uint8Array, sender: string, sealed: Buffer): Buffer | OpenFailure {
    if (sealed.length < SEAL_OVERHEAD) return 'tooShort';
    const epoch = sealed.readUInt32BE(0);
    const hi = sealed.readUInt32BE(4);
    // a counter past LAST_COUNTER is outside every window (but tampering still reads as authFailed)
    const beyond = hi > 0x1fffff;
    const c = hi * TWO_32 + sealed.readUInt32BE(8);
    const windowKey = sender + ':' + epoch;
    const boot = this.replay.peek(windowKey);
    if (boot && !beyond && !boot.window.check(c)) return 'replay';
    const tagAt = sealed.length - TAG_BYTES;
    let verified = false;
    let handle = boot?.session;
    try {
      let k: Buffer | undefined;
      if (!handle) {
        k = bootKey(this.key, sender, epoch);
        this.aead.rekey(this.trial, k);
      }
      verified = this.aead.open(handle ?? this.trial, sealed.subarray(0, NONCE_BYTES), aad, sealed, NONCE_BYTES, sealed.length);
      // a boot's first authentic frame: a context of its own, kept with its window
      if (verified && !beyond && k) handle = this.aead.context(k);
    } catch {
      // a sender that is no peer id, or OpenSSL failing inside: still a frame not to trust
      verified = false;
    }
    if (!verified) return 'authFailed';
    if (beyond || !handle) return 'replay';
    this.replay.mark(windowKey, c, handle);
    return sealed.subarray(NONCE_BYTES, tagAt);
  }
}
