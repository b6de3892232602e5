/** The pure rtnetlink codec: no I/O, safe to unit test byte for byte. */
export * from './constants';
export * from './errors';
export * from './addr';
export * from './attributes';
export * from './link';
export * from './address';
export * from './route';
export * from './neighbour';
