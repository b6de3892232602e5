export const MessageType = { Heartbeat: 1, HeartbeatAck: 2, Gossip: 3, Request: 4, Reply: 5 } as const;
