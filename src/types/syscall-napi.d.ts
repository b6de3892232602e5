// syscall-napi 0.0.6 ships no types; this declares the part weft uses (setsockopt for UDP offload).
declare module 'syscall-napi' {
  interface SyscallNapi {
    /** a raw syscall; integers as BigInt, Buffers passed by address; throws on a negative return */
    syscall: { sync(nr: bigint, ...args: Array<bigint | Buffer>): bigint };
    __NR_setsockopt: bigint;
  }
  const sys: SyscallNapi;
  export default sys;
}
