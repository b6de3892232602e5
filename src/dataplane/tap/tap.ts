/**
 * A Linux TAP device: the sleeve's door into the network's bridge. Frames the
 * bridge sends the TAP are read by a native thread in batches (up to 64 frames or
 * 64 KiB) and handed over as one packed Buffer ([u16 BE length][frame]…, see
 * packed.ts); frames written go into the bridge. The device is not persistent: it
 * disappears on close() or when the process dies.
 *
 * Backpressure: the reader hands batches through a bounded queue (64 batches);
 * when JavaScript falls behind, batches grow to their limit, then the thread stops
 * reading and the kernel's TAP queue (txqueuelen) fills and drops — memory does not grow.
 *
 * Reading never keeps the process alive (like an unref'd socket), and a device
 * whose TapDevice becomes unreachable is closed when it is garbage-collected:
 * keep a reference for as long as it should exist, and close() it when done.
 * onBatch runs on the JS thread; an exception it throws is an uncaught exception.
 *
 * Batches are read into a few buffers that are used again and again once the
 * caller says it is done with them (recycle()): a new Buffer per batch is V8
 * external memory, and at thousands of 64 KiB batches a second V8 ran a full
 * mark-compact every 50-100 ms. Until recycle(), a packed Buffer (and any view
 * of it) is the caller's. A caller that recycles and holds all of them is behind:
 * the reader waits (backpressure, as above); a caller that never recycles gets a
 * new allocation for every batch once the ring is used up. The reader learns that
 * its caller recycles from the first recycle(): one right after start() says so
 * before any batch, or a reader faster than JS may use up the ring on the first burst.
 *
 * With virtio-net headers (openTap's default, what the sleeve uses) every frame, read
 * or written, is a 10-byte struct virtio_net_hdr followed by the Ethernet frame, and the
 * TAP offers the kernel checksum and segmentation offload: frames read may be GSO
 * super-frames of up to 64 KiB with a partial checksum (tap/vnet.ts), and frames written
 * may be too. Lengths in the packed format count the header. So that header and frame
 * always fit that u16 length, whoever puts such a TAP on its bridge lowers its
 * gso_max_size to TAP_GSO_MAX_SIZE through rtnetlink (the data plane does, in the same
 * setLink as master, MTU and up): the kernel then segments a larger GSO packet itself.
 */
import { TapError, type TapErrorCode } from './errors';
import { loadTapAddon, type TapAddon, type TapHandle } from './native';
import { MAX_PACKED_FRAME } from './packed';
import { VNET_HDR_BYTES } from './vnet';

export { TapError, type TapErrorCode } from './errors';

export interface TapStats {
  /** frames handed to onBatch (counted just before the call, so inside onBatch they include its batch) */
  framesIn: number;
  /** their bytes, without the length prefixes */
  bytesIn: number;
  /** frames write() put into the device */
  framesOut: number;
  bytesOut: number;
  /** frames write() dropped: device down (EIO), queue full (EAGAIN/ENOBUFS), or refused (e.g. shorter than 14 bytes) */
  dropsOut: number;
  /** onBatch calls */
  batches: number;
  /** batches read into an allocation of their own because no reused buffer was free (recycle() late or never) */
  oneOffBatches: number;
}

export interface TapDevice {
  readonly name: string;
  /** bytes of virtio-net header before every frame read and written: 0 (none) or VNET_HDR_BYTES */
  readonly vnetHdr: number;
  /** begins reading; onBatch gets packed frames ([u16 BE len][frame]…) and their count */
  start(onBatch: (packed: Buffer, count: number) => void): void;
  /**
   * says the caller holds no view of any batch onBatch has had so far: their buffers may be
   * read into again. Calling it while something still reads such a batch corrupts that read.
   */
  recycle(): void;
  /**
   * writes every frame of a packed batch; returns how many went in (the rest were dropped:
   * device down, queue full, or a frame the kernel refuses). Throws TapError EMALFORMED (before
   * writing anything) for a malformed batch, ENODEV if the device was deleted, ECLOSED after close().
   */
  write(packed: Buffer): number;
  stats(): TapStats;
  close(): void;
}

/** Linux interface names are at most IFNAMSIZ - 1 bytes */
export const MAX_IFNAME_BYTES = 15;

export interface OpenTapOptions {
  /**
   * virtio-net headers and the kernel's offloads (checksum, TSO4/6, ECN, USO4/6 where
   * the kernel has them); default true. false: plain Ethernet frames, complete and at
   * most MTU-sized.
   */
  vnetHdr?: boolean;
}

/**
 * The gso_max_size a TAP with virtio-net headers needs (65525): the largest GSO packet whose
 * header + frame still fit the packed format's u16 length. Set through rtnetlink
 * (LinkChange.gsoMaxSize); the kernel's default (65536) is too big by 11 bytes.
 */
export const TAP_GSO_MAX_SIZE = MAX_PACKED_FRAME - VNET_HDR_BYTES;

/** what the kernel agreed to for a TAP with virtio-net headers */
export interface TapOffloads {
  /** TUN_F_* flags accepted by TUNSETOFFLOAD (0 without virtio-net headers) */
  flags: number;
}

/**
 * Creates (or attaches to) the TAP `name`; '' lets the kernel pick (tapN). Needs
 * CAP_NET_ADMIN. Throws TapError: ENAMETOOLONG, ENOTUN, EPERM, EBUSY, EINVAL,
 * ENOADDON. The device starts down and unaddressed, like any new link.
 */
export function openTap(name: string, o: OpenTapOptions = {}): TapDevice & { readonly offloads: TapOffloads } {
  const bytes = Buffer.byteLength(name, 'utf8');
  if (bytes > MAX_IFNAME_BYTES) {
    throw new TapError('ENAMETOOLONG', `TAP name "${name}" is ${bytes} bytes; Linux interface names are at most ${MAX_IFNAME_BYTES}`);
  }
  const addon = loadTapAddon();
  let opened: ReturnType<TapAddon['open']>;
  try {
    opened = addon.open(name, o.vnetHdr ?? true);
  } catch (e) {
    throw openError(name, e);
  }
  return new NativeTap(addon, opened.handle, opened.name, opened.vnetHdr, { flags: opened.offloads });
}

interface NativeError {
  code?: string;
  errno?: number;
  syscall?: string;
  message?: string;
}

function openError(name: string, e: unknown): TapError {
  const n = e as NativeError;
  const why = n.message ?? String(e);
  const err = (code: TapErrorCode, msg: string) => new TapError(code, msg, n.errno, { cause: e });
  switch (n.code) {
    case 'ENAMETOOLONG':
      return err('ENAMETOOLONG', `TAP name "${name}": ${why}`);
    case 'ENOENT':
    case 'ENODEV':
    case 'ENXIO':
      if (n.syscall === 'open') {
        return err('ENOTUN', `no /dev/net/tun (${why}): load the tun module, or give the container the device (--device /dev/net/tun)`);
      }
      break;
    case 'EPERM':
    case 'EACCES':
      return err('EPERM', `EPERM: opening TAP "${name}" needs CAP_NET_ADMIN (${why})`);
    case 'EBUSY':
      return err('EBUSY', `TAP "${name}" exists and another process has it open (${why})`);
    case 'EINVAL':
      return err('EINVAL', `"${name}" is not a valid interface name, or a device that is not a TAP has it (${why})`);
  }
  return err('EUNKNOWN', `opening TAP "${name}": ${why}`);
}

class NativeTap implements TapDevice {
  private closed = false;
  private started = false;

  constructor(
    private readonly addon: TapAddon,
    private readonly handle: TapHandle,
    readonly name: string,
    readonly vnetHdr: number,
    readonly offloads: TapOffloads,
  ) {}

  start(onBatch: (packed: Buffer, count: number) => void): void {
    this.open('start');
    if (this.started) throw new TapError('EALREADY', `TAP ${this.name}: already started`);
    try {
      // a reused buffer holds more than the batch: the view is what onBatch may read
      this.addon.start(this.handle, (buffer, count, length) => onBatch(length === buffer.length ? buffer : buffer.subarray(0, length), count));
    } catch (e) {
      throw new TapError('EUNKNOWN', `TAP ${this.name}: start: ${(e as Error).message}`, (e as NativeError).errno, { cause: e });
    }
    this.started = true;
  }

  write(packed: Buffer): number {
    this.open('write');
    try {
      return this.addon.write(this.handle, packed);
    } catch (e) {
      const n = e as NativeError;
      if (n.code === 'EMALFORMED') throw new TapError('EMALFORMED', `TAP ${this.name}: ${n.message}`, undefined, { cause: e });
      if (n.code === 'EBADFD') {
        throw new TapError('ENODEV', `TAP ${this.name} is gone: deleted while open (${n.message})`, n.errno, { cause: e });
      }
      throw new TapError('EUNKNOWN', `TAP ${this.name}: ${n.message ?? String(e)}`, n.errno, { cause: e });
    }
  }

  recycle(): void {
    if (!this.closed) this.addon.recycle(this.handle);
  }

  stats(): TapStats {
    const s = this.addon.stats(this.handle);
    return {
      framesIn: s.framesIn,
      bytesIn: s.bytesIn,
      framesOut: s.framesOut,
      bytesOut: s.bytesOut,
      dropsOut: s.dropsOut,
      batches: s.batches,
      oneOffBatches: s.oneOffBatches,
    };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.addon.close(this.handle);
  }

  private open(op: string): void {
    if (this.closed) throw new TapError('ECLOSED', `TAP ${this.name}: ${op} after close()`);
  }
}
