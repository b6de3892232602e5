/** What weft keeps about the networks and endpoints it serves on this host. */

/**
 * How a network's containers reach each other across hosts: `overlay` (the default) is one Ethernet segment
 * (a bridge per host, VXLAN or the sleeve between them); `routed` has no bridge and no encapsulation: each
 * host routes its containers' /32s and sends the rest to the peer that has them, over an underlay that
 * forwards the subnet's addresses as they are (one shared link, as in the lab; Calico's model).
 */
export type NetworkMode = 'overlay' | 'routed';

export interface NetworkRecord {
  id: string;
  bridge: string;
  /** "10.40.0.0/24" */
  subnet: string;
  /** bare gateway address (on the host end of the gateway veth pair), when the network has one */
  gateway?: string;
  mtu: number;
  /** the gateway's MAC, the same on every host (names.ts gatewayMac); the bridge has one of its own (bridgeMac) */
  mac: string;
  internal: boolean;
  /** absent in records made before routed networks existed: overlay */
  mode?: NetworkMode;
  createdAt: number;
}

/** a mode from `-o weft.mode=…` (or a copy's definition); undefined when it is none */
export function parseMode(v: unknown): NetworkMode | undefined {
  return v === 'overlay' || v === 'routed' ? v : undefined;
}

export const isRouted = (n: Pick<NetworkRecord, 'mode'>): boolean => n.mode === 'routed';

export interface EndpointRecord {
  id: string;
  networkId: string;
  hostVeth: string;
  containerVeth: string;
  /** "10.40.0.50/24" */
  address: string;
  mac: string;
  /** the sandbox it joined; undefined while not joined */
  sandboxKey?: string;
  createdAt: number;
}

export type NetworkCollections = { networks: NetworkRecord; endpoints: EndpointRecord };
