/** IPAM failures, typed so the plugin layer can word them for Docker and tests can match on `code`. */
export type IpamErrorCode =
  | 'BadRequest'   // malformed or unsupported input
  | 'NoSuchPool'
  | 'Overlap'      // pool overlaps another weft pool
  | 'OutOfPool'    // address outside the pool, or not usable in it
  | 'InUse'        // address already allocated
  | 'Exhausted';   // no free address left

export class IpamError extends Error {
  override readonly name = 'IpamError';
  constructor(readonly code: IpamErrorCode, message: string) {
    super(message);
  }
}
