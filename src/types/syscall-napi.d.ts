// syscall-napi 0.0.6 ships no types; weft loads its binding directly (src/util/syscall.ts), and a kernel
// test compares the syscall numbers weft carries with the package's: this declares that much.
declare module 'syscall-napi' {
  interface SyscallNapi {
    /** a raw syscall; integers as BigInt, Buffers passed by address; throws on a negative return */
    syscall: { sync(nr: bigint, ...args: Array<bigint | Buffer>): bigint };
    __NR_setsockopt: bigint;
  }
  const sys: SyscallNapi;
  export default sys;
}
