import { ErrorCode, ServiceError, UserErrorCode } from '../errors.js';
import type { InputIssue } from './types.js';

/**
 * Chillr's failure codes, as this service reads them:
 * - 50, 51, 56, 57: this server's credentials are missing or wrong — the operator's problem,
 *   never the caller's, so a GraphQL error `UPSTREAM_AUTH` rather than a userError.
 * - 52–55 and 58: the request's content — userErrors on the payload.
 * - 59: Chillr's internal error — `UPSTREAM_UNAVAILABLE`.
 * - 60, 61 and 62: "batch not found" (the document lists 60/61; its own sample answers 62).
 */
export const AUTH_CODES = new Set([50, 51, 56, 57]);
export const NOT_FOUND_CODES = new Set([60, 61, 62]);
export const INTERNAL_ERROR_CODE = 59;

/** The input field each content code is about (paths are the GraphQL input's). */
const FIELD_OF_CODE: Record<number, string[]> = {
  52: ['name'],
  53: ['expiryDate'],
  54: ['customers'],
  55: ['expiryDate'],
};

export function authError(code: number, message: string): ServiceError {
  return new ServiceError(
    ErrorCode.UPSTREAM_AUTH,
    `Chillr rejected this server's credentials (code ${code}: ${message}); the operator must check CHILLR_API_KEY and CHILLR_API_SECRET_KEY.`,
  );
}

export function internalError(message: string): ServiceError {
  return new ServiceError(
    ErrorCode.UPSTREAM_UNAVAILABLE,
    `Chillr reported an internal error (code 59: ${message}); try again later.`,
    { outcomeUnknown: true, upstreamAnswered: true },
  );
}

export function unexpectedCode(code: number, message: string): ServiceError {
  return new ServiceError(
    ErrorCode.UPSTREAM_BAD_RESPONSE,
    `Chillr answered with failure code ${code} ("${message}"), which this service does not know.`,
    { outcomeUnknown: true, upstreamAnswered: true },
  );
}

/**
 * Turns a create failure with a content code into userErrors. Code 58 carries one `reason`
 * string per problem, in the form "customer 2 : mobile number is not present" (1-based);
 * each becomes one error with the path of that customer's field.
 */
export function createIssues(code: number, message: string, reasons: string[]): InputIssue[] {
  if (code !== 58) {
    return [
      {
        code: UserErrorCode.INVALID_INPUT,
        field: FIELD_OF_CODE[code],
        message: `Chillr: ${message}`,
      },
    ];
  }
  if (reasons.length === 0)
    return [{ code: UserErrorCode.INVALID_INPUT, message: `Chillr: ${message}` }];
  return reasons.map((reason): InputIssue => {
    if (/none of the customers are chillr users/i.test(reason)) {
      return {
        code: UserErrorCode.NO_CHILLR_USERS,
        field: ['customers'],
        message: 'None of the customers are Chillr users, so no batch was created.',
      };
    }
    const match = /^\s*customer\s+(\d+)\s*:\s*(.+)$/i.exec(reason);
    if (!match) return { code: UserErrorCode.INVALID_INPUT, message: `Chillr: ${reason}` };
    const index = String(Number(match[1]) - 1);
    const detail = match[2]!.trim();
    const leaf = /mobile|msisdn|number/i.test(detail)
      ? 'msisdn'
      : /amount/i.test(detail)
        ? 'amount'
        : undefined;
    return {
      code: UserErrorCode.INVALID_INPUT,
      field: leaf ? ['customers', index, leaf] : ['customers', index],
      message: `Chillr: customers[${index}]: ${detail}`,
    };
  });
}
