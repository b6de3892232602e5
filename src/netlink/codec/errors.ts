/** Thrown by the pure codec. The I/O layers turn EncodeError into NetlinkError('EINVAL'). */
export abstract class CodecError extends Error {}

/** A reply buffer is truncated or malformed; raised before any out-of-bounds read. */
export class DecodeError extends CodecError {
  override readonly name = 'DecodeError';
  constructor(message: string, readonly offset?: number) {
    super(offset === undefined ? message : `${message} (at byte ${offset})`);
  }
}

/** Caller input cannot be encoded (bad MAC, IP, CIDR, out-of-range integer, over-long name). */
export class EncodeError extends CodecError {
  override readonly name = 'EncodeError';
}
