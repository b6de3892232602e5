/** append-only: the type travels on the wire (docs/mesh-protocol.md) */
export const MessageType = { Heartbeat: 1, HeartbeatAck: 2, Gossip: 3, Request: 4, Reply: 5, Sleeve: 6, FastdpAck: 7 } as const;
