/**
 * UDP segmentation and receive offload on a Node dgram socket. With
 * UDP_SEGMENT = S the kernel cuts every send longer than S into S-byte
 * datagrams (cheaper than IP-fragmenting a 64 KiB datagram, and between
 * namespaces on one machine never cut at all); with UDP_GRO a read may hold
 * several datagrams of one flow back to back (framing.ts makes them
 * self-delimiting). Node has no API for either, so setsockopt goes through
 * syscall-napi (src/util/syscall.ts) on the socket's descriptor. Linux only; a kernel or runtime
 * that refuses leaves the socket as it was and says why.
 */
import type { Socket } from 'node:dgram';
import { syscallSync } from '../../util/syscall';

const SOL_UDP = 17n;
const UDP_SEGMENT = 103n;
const UDP_GRO = 104n;

export interface OffloadResult {
  /** the segment size in force, undefined when UDP_SEGMENT was not set */
  segment?: number;
  gro: boolean;
  /** why something was not set */
  errors: string[];
}

/**
 * The descriptor behind a bound dgram socket. Node keeps its handle under an
 * internal symbol (Socket._handle is deprecated and warns); undefined if this
 * Node lays it out otherwise.
 */
export function socketFd(socket: Socket): number | undefined {
  const key = Object.getOwnPropertySymbols(socket).find((s) => s.description === 'state symbol');
  const state = key ? (socket as unknown as Record<symbol, { handle?: { fd?: unknown } }>)[key] : undefined;
  const fd = state?.handle?.fd;
  return typeof fd === 'number' && fd >= 0 ? fd : undefined;
}

/** asks for GRO, and for GSO at `segment` bytes when given; never throws */
export async function enableUdpOffload(socket: Socket, o: { segment?: number; gro: boolean }): Promise<OffloadResult> {
  const out: OffloadResult = { gro: false, errors: [] };
  if (o.segment === undefined && !o.gro) return out;
  const fd = socketFd(socket);
  if (fd === undefined) return { ...out, errors: ['no socket descriptor'] };
  const set = (opt: bigint, value: number, name: string): boolean => {
    const v = Buffer.alloc(4);
    v.writeInt32LE(value);
    try {
      syscallSync('setsockopt', `UDP socket ${fd}`, [BigInt(fd), SOL_UDP, opt, v, 4n]);
      return true;
    } catch (e) {
      out.errors.push(`${name}: ${(e as Error).message}`);
      return false;
    }
  };
  if (o.segment !== undefined && set(UDP_SEGMENT, o.segment, 'UDP_SEGMENT')) out.segment = o.segment;
  if (o.gro) out.gro = set(UDP_GRO, 1, 'UDP_GRO');
  return out;
}
