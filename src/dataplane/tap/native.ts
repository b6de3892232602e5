/**
 * The native addon (native/tap, package "weft-tap", built by `npm ci`), loaded on
 * first use so that code importing the TAP types (and unit tests on MemoryTap)
 * never needs it. Resolved through node_modules, so the same `require` works from
 * src (ts-jest) and from dist (compiled).
 */
import { TapError } from './errors';
import type { TapStats } from './tap';

/** an opaque handle to one open TAP (a Node-API external) */
export interface TapHandle {
  readonly __tapHandle: unique symbol;
}

/** the addon's counters: TapDevice's, plus read errors */
export interface NativeTapStats extends TapStats {
  /** reads that failed other than with EAGAIN (the reader stops on a fatal one, e.g. the device deleted) */
  readErrors: number;
}

/**
 * Errors the addon throws are plain Errors with `code` (an errno name, or
 * ENAMETOOLONG / EMALFORMED / ECLOSED / EALREADY), and for failed syscalls
 * `errno` and `syscall`.
 */
export interface TapAddon {
  /**
   * /dev/net/tun, TUNSETIFF IFF_TAP|IFF_NO_PI; the name the kernel gave back ('' or "tap%d" → tapN).
   * vnet: IFF_VNET_HDR with a 10-byte little-endian header, TUNSETOFFLOAD (offloads: the TUN_F_*
   * flags it took). No rtnetlink: the caller lowers gso_max_size (TAP_GSO_MAX_SIZE, tap.ts).
   */
  open(name: string, vnet?: boolean): { handle: TapHandle; name: string; vnetHdr: number; offloads: number };
  /**
   * starts the reader thread; a batch arrives as a buffer whose first `length` bytes are packed frames,
   * plus their count. The buffer is one of the reader's reused ones (TAP_RING_SLOTS) until recycle(),
   * or, when none was free, a one-off of exactly `length` bytes.
   */
  start(handle: TapHandle, onBatch: (buffer: Buffer, count: number, length: number) => void): void;
  /** every batch delivered so far may be overwritten: the reader may fill its buffers again */
  recycle(handle: TapHandle): void;
  /** one write() per frame; returns how many went in (device down, full queue, refused frames: dropped and counted) */
  write(handle: TapHandle, packed: Buffer): number;
  stats(handle: TapHandle): NativeTapStats;
  /** stops and joins the reader thread, closes the fd (the device goes away); idempotent */
  close(handle: TapHandle): void;
}

/** the addon's reader reads into this many reused buffers (see TapDevice.recycle) */
export const TAP_RING_SLOTS = 16;

/** the addon's reader hands over a batch at this many frames … */
export const TAP_BATCH_FRAMES = 64;
/** … or once the batch (lengths included) holds at least this many bytes */
export const TAP_BATCH_BYTES = 64 * 1024;

let addon: TapAddon | undefined;

export function loadTapAddon(): TapAddon {
  if (addon) return addon;
  try {
    addon = require('weft-tap') as TapAddon;
  } catch (e) {
    throw new TapError(
      'ENOADDON',
      `the TAP addon (native/tap, package weft-tap) is not available: ${(e as Error).message}; run \`npm ci\` in the weft checkout`,
      undefined,
      { cause: e },
    );
  }
  return addon;
}
