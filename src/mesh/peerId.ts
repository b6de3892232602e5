/** Peer ids: 64 random bits as 16 lower-case hex characters, chosen once per host and kept in the store. */
import { randomBytes } from 'node:crypto';

export type PeerId = string;

const RE = /^[0-9a-f]{16}$/;

export function isPeerId(s: unknown): s is PeerId {
  return typeof s === 'string' && RE.test(s);
}

export function newPeerId(random: (n: number) => Buffer = randomBytes): PeerId {
  return random(8).toString('hex');
}
