/**
 * The MTUs weft takes for a network, from `--mtu`, from Docker's
 * `com.docker.network.driver.mtu` option, or read back from Docker when weft
 * adopts a network: IPv4's minimum datagram size up to the largest a link takes.
 */
export const MTU_MIN = 576;
export const MTU_MAX = 65535;

/** an MTU from a number or a string of decimal digits; undefined when it is neither or out of range */
export function parseMtu(v: unknown): number | undefined {
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : NaN;
  return Number.isInteger(n) && n >= MTU_MIN && n <= MTU_MAX ? n : undefined;
}
