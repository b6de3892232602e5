/**
 * Network namespaces pinned by a bind mount (as `ip netns` does), and running code inside one.
 *
 * A namespace switch (setns/unshare) moves only the calling thread, so everything here runs
 * synchronously on the main thread: nothing else can run there while it is switched, and async work
 * (libuv's thread pool) never sees the switch. Linux only; needs CAP_SYS_ADMIN.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { cPath, EINVAL, EPERM, SyscallError, syscallSync, type Hints } from '../util/syscall';
import type { NetnsRef } from './types';

export interface NetnsHandle extends NetnsRef {
  /** closes the descriptor; the namespace lives on while a mount, descriptor or process holds it */
  close(): void;
}

const CLONE_NEWNET = 0x40000000n;
const MS_BIND = 0x1000n;
const MNT_DETACH = 2n;
/** linux/nsfs.h: _IO(0xb7, 0x3), the namespace type (a CLONE_NEW* flag) of an nsfs descriptor */
const NS_GET_NSTYPE = 0xb703n;
/** linux/magic.h */
const NSFS_MAGIC = 0x6e736673;
const THREAD_NETNS = '/proc/thread-self/ns/net';

const HINTS: Hints = { [EPERM]: 'CAP_SYS_ADMIN is needed' };

/** The calling (main) thread's namespace. */
export function currentNetns(): NetnsHandle {
  return handle(THREAD_NETNS, fs.openSync(THREAD_NETNS, 'r'));
}

/** The namespace pinned at `nsPath`; an Error saying why when nothing (or something else) is there. */
export function openNetns(nsPath: string): NetnsHandle {
  if (!fs.existsSync(nsPath)) throw new Error(`network namespace ${nsPath}: no such file`);
  if (!isPinned(nsPath)) throw new Error(`network namespace ${nsPath}: not a pinned namespace (nothing is mounted there)`);
  const fd = fs.openSync(nsPath, 'r');
  try {
    const type = syscallSync('ioctl', nsPath, [BigInt(fd), NS_GET_NSTYPE]);
    if (type !== CLONE_NEWNET) throw new Error(`network namespace ${nsPath}: pins a namespace of another type (0x${type.toString(16)})`);
  } catch (e) {
    fs.closeSync(fd);
    throw e;
  }
  return handle(nsPath, fd);
}

/**
 * The namespace pinned at `nsPath`, made and pinned there first if there is none. An empty file
 * pinning nothing (left by a crash before the mount) is reused; anything else there is an Error.
 */
export function ensureNetns(nsPath: string): NetnsHandle {
  if (isPinned(nsPath)) return openNetns(nsPath);
  const st = fs.statSync(nsPath, { throwIfNoEntry: false });
  if (st && !(st.isFile() && st.size === 0)) {
    throw new Error(`network namespace ${nsPath}: something else is there (not an empty file or a pinned namespace)`);
  }
  fs.mkdirSync(path.dirname(nsPath), { recursive: true });
  if (!st) fs.closeSync(fs.openSync(nsPath, 'wx', 0o444));
  try {
    const saved = fs.openSync(THREAD_NETNS, 'r');
    try {
      try {
        syscallSync('unshare', nsPath, [CLONE_NEWNET], HINTS);
        // the new namespace lives on as long as this mount does
        syscallSync('mount', nsPath, [cPath(THREAD_NETNS), cPath(nsPath), 0n, MS_BIND, 0n], HINTS);
      } finally {
        restore(saved, nsPath);
      }
    } finally {
      fs.closeSync(saved);
    }
  } catch (e) {
    fs.rmSync(nsPath, { force: true });
    throw e;
  }
  return openNetns(nsPath);
}

/**
 * Unpins the namespace at `nsPath` and removes the file; false when there was nothing there. The
 * namespace itself goes with its last reference (mount, descriptor, socket, process).
 */
export function removeNetns(nsPath: string): boolean {
  if (!fs.statSync(nsPath, { throwIfNoEntry: false })) return false;
  // mounts may be stacked (two pins racing): detach until none is left
  for (let n = 0; isPinned(nsPath); n++) {
    if (n === 16) throw new Error(`network namespace ${nsPath}: still mounted after ${n} unmounts`);
    syscallSync('umount2', nsPath, [cPath(nsPath), MNT_DETACH], HINTS);
  }
  fs.unlinkSync(nsPath);
  return true;
}

/**
 * Runs a synchronous `fn` with the main thread in `ns`, and switches back whatever happens. A
 * Promise from `fn` is refused (its continuation would run outside `ns`) after switching back.
 */
export function withNetns<T>(ns: { fd: number; path?: string }, fn: () => T): T {
  const target = ns.path ?? `fd ${ns.fd}`;
  const saved = fs.openSync(THREAD_NETNS, 'r');
  try {
    syscallSync('setns', target, [BigInt(ns.fd), CLONE_NEWNET], { ...HINTS, [EINVAL]: 'not a network namespace' });
    let out: T;
    try {
      out = fn();
    } finally {
      restore(saved, target);
    }
    if (isThenable(out)) {
      out.then(undefined, () => undefined); // reported by the throw below; no unhandled rejection
      throw new Error(`withNetns ${target}: fn returned a Promise; only synchronous work can run inside a namespace`);
    }
    return out;
  } finally {
    fs.closeSync(saved);
  }
}

/**
 * Back to the saved namespace, or the process ends: every socket Node makes on the main thread from
 * then on (a dgram socket, say) would be in the wrong namespace, and no caller could be trusted to
 * stop on an error (exit code 70, EX_SOFTWARE).
 */
function restore(saved: number, target: string): void {
  try {
    syscallSync('setns', THREAD_NETNS, [BigInt(saved), CLONE_NEWNET]);
  } catch (e) {
    const why = e instanceof SyscallError ? e.text : String(e);
    process.stderr.write(`weft: after entering network namespace ${target}, the main thread could not return to its own (${why}); exiting\n`);
    process.exit(70);
  }
}

/** nsfs mounted at p (statfs follows the mount, a plain file reports its own file system) */
export function isPinned(p: string): boolean {
  try {
    return fs.statfsSync(p).type === NSFS_MAGIC;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw e;
  }
}

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return (typeof v === 'object' || typeof v === 'function') && v !== null && typeof (v as { then?: unknown }).then === 'function';
}

function handle(nsPath: string, fd: number): NetnsHandle {
  let open = true;
  return {
    path: nsPath,
    fd,
    close(): void {
      if (!open) return;
      open = false;
      fs.closeSync(fd);
    },
  };
}
