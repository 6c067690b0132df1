import { ErrorCode, ServiceError } from '../errors.js';

/**
 * Runs a store operation and turns a backend failure into STORE_UNAVAILABLE: the caller sees
 * a retryable error with a plain message, never a driver's text (which may carry a host or
 * a file path), and the original stays attached as `cause` for the log.
 */
export async function guardStore<T>(op: () => Promise<T>): Promise<T> {
  try {
    return await op();
  } catch (error) {
    throw new ServiceError(
      ErrorCode.STORE_UNAVAILABLE,
      'The service store is unavailable; try again shortly.',
      {
        cause: error,
      },
    );
  }
}
