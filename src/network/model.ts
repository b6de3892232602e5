/** What weft keeps about the networks and endpoints it serves on this host. */

export interface NetworkRecord {
  id: string;
  bridge: string;
  /** "10.40.0.0/24" */
  subnet: string;
  /** bare gateway address on the bridge, when the network has one */
  gateway?: string;
  mtu: number;
  /** bridge MAC */
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
