/** The one error type the Netlink interface throws; `code` is what callers branch on. */
import { DecodeError, EncodeError } from './codec/errors';

export type NetlinkErrorCode =
  | 'EEXIST' | 'ENODEV' | 'ENOENT' | 'EINVAL' | 'EPERM' | 'EBUSY' | 'EOPNOTSUPP'
  | 'EADDRNOTAVAIL' | 'ERANGE' | 'ESRCH' | 'EBADF' | 'EUNKNOWN';

/** Linux errno numbers and strerror() texts for the codes weft names. */
const KNOWN: Record<Exclude<NetlinkErrorCode, 'EUNKNOWN'>, [number, string]> = {
  EPERM: [1, 'Operation not permitted'],
  ENOENT: [2, 'No such file or directory'],
  ESRCH: [3, 'No such process'],
  EBADF: [9, 'Bad file descriptor'],
  EBUSY: [16, 'Device or resource busy'],
  EEXIST: [17, 'File exists'],
  ENODEV: [19, 'No such device'],
  EINVAL: [22, 'Invalid argument'],
  ERANGE: [34, 'Numerical result out of range'],
  EOPNOTSUPP: [95, 'Operation not supported'],
  EADDRNOTAVAIL: [99, 'Cannot assign requested address'],
};

/** errnos that have no code of their own but deserve a readable message */
const OTHER_TEXT: Record<number, string> = {
  12: 'Cannot allocate memory', 13: 'Permission denied', 40: 'Too many levels of symbolic links (ELOOP)',
  90: 'Message too long', 97: 'Address family not supported by protocol',
  100: 'Network is down (ENETDOWN)', 101: 'Network is unreachable (ENETUNREACH)', 105: 'No buffer space available',
  110: 'Connection timed out',
};

const BY_ERRNO = new Map<number, NetlinkErrorCode>(
  Object.entries(KNOWN).map(([code, [errno]]) => [errno, code as NetlinkErrorCode]),
);

export function errnoOf(code: Exclude<NetlinkErrorCode, 'EUNKNOWN'>): number {
  return KNOWN[code][0];
}

export class NetlinkError extends Error {
  override readonly name = 'NetlinkError';
  /**
   * @param op what was being done, e.g. "create bridge weft-abc"
   * @param errno positive Linux errno; 0 when the failure was not a kernel errno (e.g. a timeout)
   * @param detail replaces the strerror() text in the message
   */
  constructor(
    readonly code: NetlinkErrorCode,
    readonly errno: number,
    readonly op: string,
    detail?: string,
    options?: { cause?: unknown },
  ) {
    super(`${op}: ${code} (${detail ?? describe(code, errno)})`, options);
  }

  /** from a kernel errno (positive or negative) */
  static fromErrno(errno: number, op: string, detail?: string): NetlinkError {
    const e = Math.abs(errno);
    return new NetlinkError(BY_ERRNO.get(e) ?? 'EUNKNOWN', e, op, detail);
  }

  /** from a code, with its standard errno (as the fake raises them) */
  static of(code: Exclude<NetlinkErrorCode, 'EUNKNOWN'>, op: string, detail?: string): NetlinkError {
    return new NetlinkError(code, errnoOf(code), op, detail);
  }
}

function describe(code: NetlinkErrorCode, errno: number): string {
  if (code !== 'EUNKNOWN') return KNOWN[code][1];
  return OTHER_TEXT[errno] ?? `errno ${errno}`;
}

/**
 * Any failure on the way to the kernel and back as the one error type: a NetlinkError as it is, input
 * the codec cannot encode as EINVAL, a reply it cannot decode or anything else as EUNKNOWN (the cause kept).
 */
export function asNetlinkError(op: string, e: unknown): NetlinkError {
  if (e instanceof NetlinkError) return e;
  if (e instanceof EncodeError) return new NetlinkError('EINVAL', 22, op, e.message, { cause: e });
  if (e instanceof DecodeError) return new NetlinkError('EUNKNOWN', 0, op, `bad reply from the kernel: ${e.message}`, { cause: e });
  return new NetlinkError('EUNKNOWN', 0, op, e instanceof Error ? e.message : String(e), { cause: e });
}

export function isNetlinkError(e: unknown, ...codes: NetlinkErrorCode[]): e is NetlinkError {
  return e instanceof NetlinkError && (codes.length === 0 || codes.includes(e.code));
}
