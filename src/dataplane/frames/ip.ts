/** IP protocol numbers the data plane reads and writes. */
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;
