/**
 * The native AEAD (native/aead, package "weft-aead", built by `npm ci`): ChaCha20-Poly1305
 * through the OpenSSL inside Node, sealing where the caller says and opening in place.
 * Why not node:crypto: see native/aead/aead.c. Loaded on first use, through node_modules,
 * so the same `require` works from src (ts-jest) and from dist.
 */

/** an opaque handle to one key's contexts (a Node-API external) */
export interface AeadHandle {
  readonly __aeadHandle: unique symbol;
}

/** Arguments of the wrong type or size are TypeErrors with code EINVAL; no room in `out`, a RangeError. */
export interface AeadAddon {
  /** the contexts for one 32-byte key (native memory, freed when the handle is collected) */
  context(key: Uint8Array): AeadHandle;
  /** the handle's contexts to another 32-byte key, allocating nothing */
  rekey(handle: AeadHandle, key: Uint8Array): void;
  /** encrypts the parts' concatenation into out at offset, then the 16-byte tag; returns the offset after the tag */
  seal(handle: AeadHandle, nonce: Uint8Array, aad: Uint8Array, parts: readonly Uint8Array[], out: Uint8Array, offset: number): number;
  /** buf[start, end - 16) decrypted in place, verified against the tag at buf[end - 16, end); false: forged (buf overwritten anyway) */
  open(handle: AeadHandle, nonce: Uint8Array, aad: Uint8Array, buf: Uint8Array, start: number, end: number): boolean;
}

let addon: AeadAddon | undefined;

export function loadAeadAddon(): AeadAddon {
  if (addon) return addon;
  try {
    addon = require('weft-aead') as AeadAddon;
  } catch (e) {
    throw new Error(`the mesh encryption addon (native/aead, package weft-aead) is not available: ${(e as Error).message}; run \`npm ci\` in the weft checkout`, {
      cause: e,
    });
  }
  return addon;
}
