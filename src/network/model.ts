/** What weft keeps about the networks and endpoints it serves on this host. */

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
  createdAt: number;
}

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
