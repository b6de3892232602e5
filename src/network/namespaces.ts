/**
 * Where weft's devices live. Docker takes a container's end of a veth pair from the host's namespace,
 * and the gateway address, the probe device and the VXLAN devices' UDP sockets belong there too. The
 * bridges and their ports (endpoints' host ends, the VXLAN and TAP ports, the gateway's port) live in
 * `bridges`: a namespace of weft's own, where the host's br_netfilter (which Docker turns on) does not
 * see the traffic weft bridges, or the host's namespace itself where weft may not make one.
 */
import type { Netlink, NetnsRef } from '../netlink/types';
import { isRouted, type NetworkRecord } from './model';

export interface Side {
  nl: Netlink;
  ref: NetnsRef;
}

export interface Namespaces {
  host: Side;
  bridges: Side;
  /**
   * With the bridges in the host's namespace: the namespace of their own that an earlier weft kept them
   * in, still pinned. The reconciler takes the running containers' host ends back from it and empties it.
   */
  previous?: Side;
}

/** everything in one namespace (the host's, or a test's fake) */
export function oneNamespace(nl: Netlink, ref: NetnsRef): Namespaces {
  const side = { nl, ref };
  return { host: side, bridges: side };
}

/** where a network's endpoints' host ends live: on its bridge, or in the host's namespace for a routed network */
export function hostEndSide(ns: Namespaces, net: Pick<NetworkRecord, 'mode'>): Side {
  return isRouted(net) ? ns.host : ns.bridges;
}

/** the bridges have a namespace of their own */
export function separate(ns: Namespaces): boolean {
  return ns.bridges.nl !== ns.host.nl;
}
