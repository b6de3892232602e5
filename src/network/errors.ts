/** Network-driver failures, typed so the plugin layer words them for Docker. */
export type NetworkErrorCode = 'BadRequest' | 'NoSuchNetwork' | 'NoSuchEndpoint' | 'Conflict' | 'Kernel';

export class NetworkError extends Error {
  override readonly name = 'NetworkError';
  constructor(readonly code: NetworkErrorCode, message: string) {
    super(message);
  }
}
