/**
 * The redirect program of a routed network: a tcx ingress program that forwards a packet between
 * two of the network's addresses itself, instead of leaving it to the host's IP stack.
 *
 * On a routed network a container's packet to another host crosses, per host, a veth pair and a
 * full forward (route lookup, netfilter, neighbour output). This program sits on each container's
 * host end and on the underlay device. For an IPv4 packet whose source and destination are both
 * in the subnet, it asks the kernel's FIB where the packet goes (bpf_fib_lookup: the same routes
 * weft installs, and the neighbour's MAC), rewrites the Ethernet header, takes one off the TTL and
 * then hands the packet straight to the next device:
 *  - into the container itself (bpf_redirect_peer, to the veth's far end in the container's
 *    namespace, skipping the host end's queue), when the next hop is the destination itself;
 *  - else to the next device's transmit (bpf_redirect): the route has a gateway (a peer's
 *    underlay address: the data plane's routes, ../routedPlane.ts).
 *
 * Whatever it cannot finish goes to the stack unchanged (TCX_NEXT): not addressed to this host's MAC, not IPv4, either address
 * outside the subnet, a TTL about to expire (the stack answers with ICMP), no route, no neighbour
 * yet (the stack resolves it), a packet too big for the next link. So the stack's behaviour is the
 * reference, and weft works the same without the program; it is an accelerator only. Traffic it
 * forwards skips the FORWARD chain, which for these packets only holds weft's own subnet accept.
 *
 * Every route into the subnet without a gateway is a container's /32 through its veth host end
 * (weft's routes, protocol 87, ../../network/routed.ts), which is why such a next hop is entered
 * as a veth's peer. The checks on the header stop at what the program relies on; a packet the
 * stack would drop on arrival (a bad checksum, options) is dropped by the receiving stack instead.
 * Pure: parameters in, instructions out.
 */
import { type Cidr, formatCidr, maskOf } from '../../addr/cidr';
import { Assembler, R0, R1, R2, R3, R4, R5, R6, R10 } from '../../bpf/asm';
import { TCX_NEXT } from '../../bpf/bpf';
import { ETH_HLEN, ETH_P_IP } from '../frames/ethernet';

/** bpf_fib_lookup's params need a GPL-compatible licence; this generated program is offered under both */
export const REDIRECT_LICENSE = 'Dual MIT/GPL';

const HELPER = { redirect: 23, fibLookup: 69, redirectPeer: 155 } as const;

// struct __sk_buff
const SKB_PKT_TYPE = 4;
const PACKET_HOST = 0;
const SKB_INGRESS_IFINDEX = 36;
const SKB_DATA = 76;
const SKB_DATA_END = 80;

// an untagged Ethernet frame with an IPv4 header
const ETH_TYPE = 12;
const IP = ETH_HLEN;
const IP_VERSION = IP + 0;
const IP_TOS = IP + 1;
const IP_TTL = IP + 8;
const IP_CHECK = IP + 10;
const IP_SRC = IP + 12;
const IP_DST = IP + 16;
const HEADERS = IP + 20;

// struct bpf_fib_lookup, 64 bytes, on the stack at r10 - 64
const FIB = -64;
const FIB_FAMILY = FIB + 0;
const FIB_IFINDEX = FIB + 8;
const FIB_TOS = FIB + 12;
const FIB_SRC = FIB + 16;
const FIB_DST = FIB + 32;
const FIB_SMAC = FIB + 52;
const FIB_DMAC = FIB + 58;
const FIB_BYTES = 64;
const AF_INET = 2;

/** a 32-bit value as a little-endian load of its network-order bytes reads it */
function asLoaded(v: number): number {
  return (((v & 0xff) << 24) | ((v & 0xff00) << 8) | ((v >>> 8) & 0xff00) | (v >>> 24)) >>> 0;
}

/** the program for one routed network's subnet (a Cidr from parseCidr: host bits zero) */
export function redirectProgram(subnet: Cidr): Buffer {
  const mask = maskOf(subnet.prefix);
  if (((subnet.base & ~mask) >>> 0) !== 0) throw new RangeError(`${formatCidr(subnet)} has host bits set`);
  const maskLoaded = asLoaded(mask);
  const netLoaded = asLoaded(subnet.base);
  const a = new Assembler();

  a.alu64('mov', R6, R1); // the context, kept across helper calls

  // the headers must lie in the packet's linear part
  const bounds = (): void => {
    a.load('u32', R2, R6, SKB_DATA).load('u32', R3, R6, SKB_DATA_END);
    a.alu64('mov', R4, R2).alu64('add', R4, HEADERS).jump64('gt', R4, R3, 'next');
  };
  bounds();
  // only what was sent to this host: the stack drops a frame for another MAC (a flooding switch), and
  // broadcast and multicast are not forwarded
  a.load('u32', R4, R6, SKB_PKT_TYPE).jump32('ne', R4, PACKET_HOST, 'next');
  a.load('u16', R4, R2, ETH_TYPE).jump32('ne', R4, ((ETH_P_IP & 0xff) << 8) | (ETH_P_IP >>> 8), 'next'); // as a little-endian load reads it
  a.load('u8', R4, R2, IP_VERSION).alu32('and', R4, 0xf0).jump32('ne', R4, 0x40, 'next');
  a.load('u8', R4, R2, IP_TTL).jump32('le', R4, 1, 'next');
  a.load('u32', R4, R2, IP_SRC).alu32('and', R4, maskLoaded).jump32('ne', R4, netLoaded, 'next');
  a.load('u32', R5, R2, IP_DST).alu32('and', R5, maskLoaded).jump32('ne', R5, netLoaded, 'next');

  // the FIB query: family, input device, TOS, addresses; everything else zero
  for (let off = FIB; off < 0; off += 8) a.store('u64', R10, off, 0);
  a.store('u8', R10, FIB_FAMILY, AF_INET);
  a.load('u8', R4, R2, IP_TOS).store('u8', R10, FIB_TOS, R4);
  a.load('u32', R4, R6, SKB_INGRESS_IFINDEX).store('u32', R10, FIB_IFINDEX, R4);
  a.load('u32', R4, R2, IP_SRC).store('u32', R10, FIB_SRC, R4);
  a.load('u32', R4, R2, IP_DST).store('u32', R10, FIB_DST, R4);
  a.alu64('mov', R1, R6).alu64('mov', R2, R10).alu64('add', R2, FIB).alu64('mov', R3, FIB_BYTES).alu64('mov', R4, 0);
  a.call(HELPER.fibLookup);
  a.jump64('ne', R0, 0, 'next'); // anything but BPF_FIB_LKUP_RET_SUCCESS: the stack decides

  bounds(); // the helper call ended what the verifier knew of r2, r3

  // TTL - 1, and the header checksum by RFC 1624's increment: the word (TTL, protocol) fell by 0x0100
  a.load('u8', R4, R2, IP_TTL).alu32('sub', R4, 1).store('u8', R2, IP_TTL, R4);
  a.load('u16', R4, R2, IP_CHECK).toBigEndian(R4, 16).alu32('add', R4, 0x0100);
  a.jump32('lt', R4, 0xffff, 'checked').alu32('add', R4, 1);
  a.label('checked');
  a.toBigEndian(R4, 16).store('u16', R2, IP_CHECK, R4);

  // the next hop's MAC and ours, as the FIB found them (the stack is 2-aligned here, so by halves)
  for (let i = 0; i < 6; i += 2) {
    a.load('u16', R4, R10, FIB_DMAC + i).store('u16', R2, i, R4);
    a.load('u16', R4, R10, FIB_SMAC + i).store('u16', R2, 6 + i, R4);
  }

  // the FIB put the route's gateway, if it has one, where the destination was
  a.load('u32', R4, R10, FIB_DST).load('u32', R5, R2, IP_DST);
  a.load('u32', R1, R10, FIB_IFINDEX).alu64('mov', R2, 0);
  a.jump32('ne', R4, R5, 'via_gateway');
  a.call(HELPER.redirectPeer).exit();
  a.label('via_gateway');
  a.call(HELPER.redirect).exit();

  a.label('next');
  a.alu64('mov', R0, TCX_NEXT).exit();
  return a.assemble();
}
