/**
 * Packet-filter rules weft needs on a network's bridge (and, below, for a routed
 * network's subnet, which the host forwards itself). Docker sets the FORWARD
 * policy to DROP and makes bridged IPv4 traffic pass iptables and conntrack
 * (bridge-nf-call-iptables), so:
 * - frames between two ports of a weft bridge are dropped unless a rule lets them through;
 * - every frame between two containers is looked up and tracked by conntrack, which
 *   costs the fast path about 7 % of its throughput here (scripts/bench/tools/br-netfilter-ab)
 *   and fills the conntrack table with flows nothing needs: weft maps no ports, and NAT
 *   applies only to traffic leaving the subnet. So traffic inside the subnet is left
 *   untracked, except what is addressed to the host itself (the gateway), which a
 *   stateful INPUT firewall on the host must still see as connections.
 */
export interface BridgeRules {
  bridge: string;
  /** the network's subnet, CIDR text */
  subnet: string;
}

export interface Firewall {
  /** lets traffic between ports of this bridge through, untracked inside the subnet (idempotent) */
  allowBridge(net: BridgeRules): Promise<void>;
  /** removes every rule weft made for this bridge (idempotent; needs no subnet: an orphaned bridge has no record) */
  revokeBridge(bridge: string): Promise<void>;
  /**
   * A routed network's traffic is forwarded by the host, container to container, here or from a peer:
   * lets it through FORWARD from the subnet to the subnet (idempotent). Tracked: a routed packet takes
   * the host's routing path, as any other.
   */
  allowSubnet(subnet: string): Promise<void>;
  revokeSubnet(subnet: string): Promise<void>;
  /** the subnets whose rules weft made, whatever made them (a network deleted in a crash leaves one) */
  routedSubnets(): Promise<string[]>;
}
