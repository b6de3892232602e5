/** Checks a ring received from elsewhere before anything of it is trusted. Pure. */
import { isPeerId } from '../../mesh/peerId';
import { MAX_ENTRIES, MAX_VERSION, SPACE } from './types';

/** undefined when `entries` is a well-formed ring, else what is wrong with it. */
export function validateEntries(entries: unknown): string | undefined {
  if (!Array.isArray(entries)) return 'not an array';
  if (entries.length > MAX_ENTRIES) return `${entries.length} entries (limit ${MAX_ENTRIES})`;
  let prev = -1;
  for (let i = 0; i < entries.length; i++) {
    const e: unknown = entries[i];
    if (typeof e !== 'object' || e === null) return `entry ${i} is not an object`;
    const { token, owner, version } = e as Record<string, unknown>;
    if (typeof token !== 'number' || !Number.isInteger(token) || token < 0 || token >= SPACE) {
      return `entry ${i}: bad token ${String(token)}`;
    }
    if (typeof version !== 'number' || !Number.isInteger(version) || version < 1 || version > MAX_VERSION) {
      return `entry ${i}: bad version ${String(version)}`;
    }
    if (!isPeerId(owner)) return `entry ${i}: bad owner`;
    if (token <= prev) return `entry ${i}: token ${token} not above ${prev} (unsorted or duplicate)`;
    prev = token;
  }
  // an entry owns up to the next token, so without token 0 the low addresses would belong to nobody
  if (entries.length > 0 && (entries[0] as { token: number }).token !== 0) return 'non-empty ring without token 0';
  return undefined;
}
