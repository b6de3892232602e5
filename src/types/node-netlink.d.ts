// node-netlink 0.0.4 ships no types; this declares the part weft uses (the socket only).
declare module 'node-netlink' {
  export interface NetlinkHeader {
    nlmsg_type: bigint;
    nlmsg_flags: bigint;
    nlmsg_seq?: bigint;
    nlmsg_pid?: bigint;
  }
  export interface NetlinkPacket {
    header: NetlinkHeader;
    payload: Buffer;
  }
  export interface NetlinkSocket {
    nl_pid: bigint;
    /** Sends one request (NLM_F_ACK required) and resolves with every reply up to DONE/ERROR; errno → thrown Error with .errno. */
    talk(msg: { header: NetlinkHeader; payload: Buffer }, opts?: { timeout?: number }): Promise<NetlinkPacket[]>;
    tryTalk(msg: { header: NetlinkHeader; payload: Buffer }, opts?: { timeout?: number }): Promise<{ errorCode: number; packets: NetlinkPacket[] }>;
    close(): Promise<void>;
    on(event: 'message', cb: (p: NetlinkPacket) => void): void;
  }
  const netlink: {
    NLM_F_REQUEST: bigint; NLM_F_MULTI: bigint; NLM_F_DUMP: bigint; NLM_F_ACK: bigint;
    NLM_F_CREATE: bigint; NLM_F_EXCL: bigint; NLM_F_MATCH: bigint; NLM_F_ECHO: bigint;
    NLMSG_DONE: bigint; NLMSG_ERROR: bigint;
    open(opts: { family: number; pid?: number; groups?: number }): Promise<NetlinkSocket>;
  };
  export default netlink;
}
