/** The address-ownership ring: public surface. */
export { Ring } from './ring';
export { validateEntries } from './validate';
export { encodeRing, decodeRing, isDecodeFailure, RING_FORMAT, MAX_ENCODED_BYTES, type DecodeFailure } from './codec';
export { chooseDonation, freeRunsFromSorted, scanFreeRuns, upperHalf, type DonationWant, type FreeRuns } from './donation';
export { MAX_ENTRIES, MAX_VERSION, RingError, SPACE, type MergeResult, type PeerId, type Range, type RingEntry, type RingErrorCode } from './types';
