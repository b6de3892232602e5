/**
 * Raw Linux syscalls for netns.ts, nsSocket.ts and bpf/bpf.ts, through syscall-napi's native binding.
 *
 * syscall-napi's entry point is an ES module, which CommonJS cannot load synchronously everywhere
 * (jest refuses), and namespace switches must be synchronous. So this loads the package's compiled
 * binding directly (as its own lib/index.js does) and carries the few syscall numbers weft needs,
 * copied from syscall-napi's lib/constants (a kernel test checks they still agree).
 *
 * The binding reports a failure as an Error holding only strerror(errno); errnoOf() maps the glibc
 * text back to the number (musl words a few differently; those stay errno 0 with their text).
 */

export type Arg = bigint | Buffer;

interface Binding {
  syscall_sync(nr: bigint, ...args: Arg[]): bigint;
  syscall_async(nr: bigint, ...args: Arg[]): Promise<bigint>;
}

export type SyscallName =
  | 'close' | 'ioctl' | 'mount' | 'umount2' | 'unshare' | 'setns'
  | 'socket' | 'bind' | 'sendto' | 'recvfrom' | 'setsockopt' | 'bpf';

/** asm/unistd_64.h (x86-64) and asm-generic/unistd.h (arm64) */
export const SYSCALL_NUMBERS: Readonly<Record<string, Readonly<Record<SyscallName, bigint>>>> = {
  x64: {
    close: 3n, ioctl: 16n, mount: 165n, umount2: 166n, unshare: 272n, setns: 308n,
    socket: 41n, bind: 49n, sendto: 44n, recvfrom: 45n, setsockopt: 54n, bpf: 321n,
  },
  arm64: {
    close: 57n, ioctl: 29n, mount: 40n, umount2: 39n, unshare: 97n, setns: 268n,
    socket: 198n, bind: 200n, sendto: 206n, recvfrom: 207n, setsockopt: 208n, bpf: 280n,
  },
};

/** errno, name, glibc strerror() */
const ERRNOS: ReadonlyArray<readonly [number, string, string]> = [
  [1, 'EPERM', 'Operation not permitted'],
  [2, 'ENOENT', 'No such file or directory'],
  [3, 'ESRCH', 'No such process'],
  [4, 'EINTR', 'Interrupted system call'],
  [5, 'EIO', 'Input/output error'],
  [6, 'ENXIO', 'No such device or address'],
  [7, 'E2BIG', 'Argument list too long'],
  [9, 'EBADF', 'Bad file descriptor'],
  [11, 'EAGAIN', 'Resource temporarily unavailable'],
  [12, 'ENOMEM', 'Cannot allocate memory'],
  [13, 'EACCES', 'Permission denied'],
  [14, 'EFAULT', 'Bad address'],
  [16, 'EBUSY', 'Device or resource busy'],
  [17, 'EEXIST', 'File exists'],
  [18, 'EXDEV', 'Invalid cross-device link'],
  [19, 'ENODEV', 'No such device'],
  [20, 'ENOTDIR', 'Not a directory'],
  [21, 'EISDIR', 'Is a directory'],
  [22, 'EINVAL', 'Invalid argument'],
  [23, 'ENFILE', 'Too many open files in system'],
  [24, 'EMFILE', 'Too many open files'],
  [25, 'ENOTTY', 'Inappropriate ioctl for device'],
  [28, 'ENOSPC', 'No space left on device'],
  [30, 'EROFS', 'Read-only file system'],
  [36, 'ENAMETOOLONG', 'File name too long'],
  [38, 'ENOSYS', 'Function not implemented'],
  [40, 'ELOOP', 'Too many levels of symbolic links'],
  [87, 'EUSERS', 'Too many users'],
  [88, 'ENOTSOCK', 'Socket operation on non-socket'],
  [90, 'EMSGSIZE', 'Message too long'],
  [92, 'ENOPROTOOPT', 'Protocol not available'],
  [93, 'EPROTONOSUPPORT', 'Protocol not supported'],
  [95, 'EOPNOTSUPP', 'Operation not supported'],
  [97, 'EAFNOSUPPORT', 'Address family not supported by protocol'],
  [98, 'EADDRINUSE', 'Address already in use'],
  [105, 'ENOBUFS', 'No buffer space available'],
  [110, 'ETIMEDOUT', 'Connection timed out'],
  [111, 'ECONNREFUSED', 'Connection refused'],
];
const BY_TEXT = new Map(ERRNOS.map(([errno, name, text]) => [text, { errno, name }]));

export const EPERM = 1;
export const EINTR = 4;
export const EAGAIN = 11;
export const EINVAL = 22;

/** errno and its name from a strerror() text; errno 0 when the text is not one weft knows */
export function errnoOf(text: string): { errno: number; name?: string } {
  return BY_TEXT.get(text) ?? { errno: 0 };
}

/** A failed syscall: `${call} ${target}: ${strerror} (${code})`, plus a hint when one was given. */
export class SyscallError extends Error {
  override readonly name = 'SyscallError';
  readonly errno: number;
  readonly code: string | undefined;
  constructor(readonly call: SyscallName, readonly target: string, readonly text: string, hint?: string) {
    const { errno, name } = errnoOf(text);
    const why = [name, hint].filter((s) => s !== undefined).join('; ');
    super(`${call} ${target}: ${text}${why === '' ? '' : ` (${why})`}`);
    this.errno = errno;
    this.code = name;
  }
}

/** hints by errno, appended to a failure's message */
export type Hints = Readonly<Partial<Record<number, string>>>;

let binding: { fns: Binding; nr: Readonly<Record<SyscallName, bigint>> } | undefined;

function load(): NonNullable<typeof binding> {
  if (binding) return binding;
  if (process.platform !== 'linux') throw new Error('network namespaces need Linux');
  const nr = SYSCALL_NUMBERS[process.arch];
  if (!nr) throw new Error(`no syscall numbers for ${process.arch} (weft knows ${Object.keys(SYSCALL_NUMBERS).join(', ')})`);
  let fns: Binding | undefined;
  const failures: string[] = [];
  for (const build of ['Release', 'Debug']) {
    try {
      fns = require(`syscall-napi/build/${build}/syscall.node`) as Binding;
      break;
    } catch (e) {
      failures.push(e instanceof Error ? e.message : String(e));
    }
  }
  if (!fns) throw new Error(`cannot load syscall-napi's binding: ${failures.join('; ')}`);
  binding = { fns, nr };
  return binding;
}

function fail(call: SyscallName, target: string, e: unknown, hints: Hints): SyscallError {
  // duck-typed: the binding's Error may come from another realm (jest's sandbox), failing instanceof
  const message = typeof e === 'object' && e !== null ? (e as { message?: unknown }).message : undefined;
  const text = typeof message === 'string' ? message : String(e);
  return new SyscallError(call, target, text, hints[errnoOf(text).errno]);
}

/** Runs on the calling (main) thread; `target` names what the call was about, for the error. */
export function syscallSync(call: SyscallName, target: string, args: readonly Arg[], hints: Hints = {}): bigint {
  const b = load();
  try {
    return b.fns.syscall_sync(b.nr[call], ...args);
  } catch (e) {
    throw fail(call, target, e, hints);
  }
}

/** Runs on a libuv thread-pool thread; Buffers in `args` must not be touched until it settles. */
export async function syscallAsync(call: SyscallName, target: string, args: readonly Arg[], hints: Hints = {}): Promise<bigint> {
  const b = load();
  try {
    return await b.fns.syscall_async(b.nr[call], ...args);
  } catch (e) {
    throw fail(call, target, e, hints);
  }
}

/** A NUL-terminated copy of a path, for a `const char *` argument. */
export function cPath(path: string): Buffer {
  if (path.includes('\0')) throw new Error(`path contains NUL: ${JSON.stringify(path)}`);
  return Buffer.from(`${path}\0`, 'utf8');
}
