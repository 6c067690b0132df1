/**
 * Failure messages, from the document's failure-code list (typo "errro" fixed). 58 has no single
 * message: collect answers "Failed to create batch" as in its sample, the status check a generic
 * one. 62 is not in the list but is what the status-check failure sample shows.
 */
export const FAILURE_MESSAGES: Readonly<Record<number, string>> = {
  50: 'api_key param is missing',
  51: 'api_secret_key param is missing',
  52: 'name param is missing',
  53: 'expiry_date param is missing',
  54: 'customer param is missing',
  55: 'expiry_date format error (dd-mm-yyyy)',
  56: 'api_secret_key mismatch error',
  57: 'Merchant not found error',
  58: 'Invalid parameters',
  59: 'Internal server error',
  60: 'batch_id param is missing',
  61: 'Batch not found',
  62: 'Batch not found error',
};

export const COLLECT_FAILED_MESSAGE = 'Failed to create batch';

/** A failure before it is put on the wire. `reason` only accompanies 58. */
export interface Failure {
  statusCode: number;
  message: string;
  reason?: string[];
}

export function failure(statusCode: number, reason?: string[], message?: string): Failure {
  return {
    statusCode,
    message: message ?? FAILURE_MESSAGES[statusCode] ?? 'Request failed',
    ...(reason ? { reason } : {}),
  };
}

/** The document's failure envelope; upstream sends it with HTTP 200. */
export function failureBody(f: Failure): Record<string, unknown> {
  return {
    status: 'failure',
    status_code: f.statusCode,
    message: f.message,
    ...(f.reason ? { data: { reason: f.reason } } : {}),
  };
}
