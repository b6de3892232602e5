/**
 * Packet-filter rules weft needs. Docker sets the FORWARD policy to DROP and
 * makes bridged IPv4 traffic pass iptables (bridge-nf-call-iptables), so frames
 * between two ports of a weft bridge are dropped unless a rule lets them through.
 */
export interface Firewall {
  /** lets traffic between ports of this bridge through (idempotent) */
  allowBridge(bridge: string): Promise<void>;
  /** removes that rule (idempotent) */
  revokeBridge(bridge: string): Promise<void>;
}
