/** What can go wrong with a TAP device; `code` is what callers branch on. */
export type TapErrorCode =
  /** /dev/net/tun is missing (tun module not loaded, or a container without the device) */
  | 'ENOTUN'
  /** opening /dev/net/tun or creating the device needs CAP_NET_ADMIN */
  | 'EPERM'
  /** interface names are at most 15 bytes (IFNAMSIZ - 1) */
  | 'ENAMETOOLONG'
  /** not a valid interface name, or a device of another kind has that name */
  | 'EINVAL'
  /** the TAP exists and another process has it open */
  | 'EBUSY'
  /** a packed batch whose lengths do not add up (or a zero length) */
  | 'EMALFORMED'
  /** packFrames: a frame of 0 or more than 65535 bytes */
  | 'EFRAMESIZE'
  /** the device was deleted while open (e.g. `ip link del`) */
  | 'ENODEV'
  /** used after close() */
  | 'ECLOSED'
  /** start() called twice */
  | 'EALREADY'
  /** the native addon (native/tap) is not built */
  | 'ENOADDON'
  | 'EUNKNOWN';

export class TapError extends Error {
  override readonly name = 'TapError';
  constructor(
    readonly code: TapErrorCode,
    message: string,
    /** the Linux errno behind it, when there is one */
    readonly errno?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
