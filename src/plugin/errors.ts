/**
 * Error replies Docker shows to the user. The network API reads `Err`, the IPAM API
 * reads `Error` (a 200 reply with only `Err` is a success to Docker's IPAM client),
 * so every error reply carries both, whatever the route.
 */
import { IpamError } from '../ipam/errors';
import { NetlinkError } from '../netlink/errors';
import { NetworkError } from '../network/errors';

/** a request that is wrong as sent: bad JSON, wrong types, unknown ids */
export class BadRequest extends Error {
  override readonly name = 'BadRequest';
}

export interface ErrorReply {
  Err: string;
  Error: string;
}

export function errorReply(message: string): ErrorReply {
  return { Err: message, Error: message };
}

/** true when the error is the caller's doing (logged at info, not error) */
export function isUserError(e: unknown): boolean {
  if (e instanceof BadRequest) return true;
  if (e instanceof IpamError) return true;
  if (e instanceof NetworkError) return e.code !== 'Kernel';
  return false;
}

export function messageOf(e: unknown): string {
  if (e instanceof BadRequest || e instanceof IpamError || e instanceof NetworkError) return e.message;
  if (e instanceof NetlinkError) return `weft: kernel refused: ${e.message}`;
  return `weft: internal error: ${e instanceof Error ? e.message : String(e)}`;
}
