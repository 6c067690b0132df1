import { unwrapResolverError } from '@apollo/server/errors';
import type { GraphQLFormattedError } from 'graphql';
import { ErrorCode, ServiceError } from '../errors.js';
import type { Logger } from '../logger.js';
import { noRedaction, type Redactor } from '../redact.js';

/**
 * Apollo Server's `formatError`: a {@link ServiceError} keeps its message and gets its code in
 * `extensions.code`; GraphQL's own errors (syntax, validation, variable coercion) pass as they
 * are; anything else is a bug, so the caller sees a generic message and the details go to the
 * log under the request id. Stack traces never leave the server.
 */
export function createFormatError(logger: Logger, redactor: Redactor = noRedaction) {
  const format = formatWith(logger);
  // The last net: whatever a message quotes (an upstream's text, a driver's), no secret leaves.
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const safe = format(formatted, error);
    return { ...safe, message: redactor.text(safe.message) };
  };
}

function formatWith(logger: Logger) {
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const original = unwrapResolverError(error);
    const { stacktrace: _stacktrace, ...extensions } = formatted.extensions ?? {};
    if (original instanceof ServiceError) {
      return {
        ...formatted,
        message: original.message,
        extensions: { ...extensions, code: original.code, ...(original.details ?? {}) },
      };
    }
    const code = typeof extensions.code === 'string' ? extensions.code : undefined;
    if (code && code !== ErrorCode.INTERNAL_SERVER_ERROR) return { ...formatted, extensions };
    if (original instanceof Error && original.name === 'GraphQLError') {
      return {
        ...formatted,
        extensions: { ...extensions, code: code ?? ErrorCode.INTERNAL_SERVER_ERROR },
      };
    }
    logger.error({ err: original, path: formatted.path }, 'unexpected error in a resolver');
    return {
      message: 'Internal server error; the details are in the server log under this request id.',
      locations: formatted.locations,
      path: formatted.path,
      extensions: { ...extensions, code: ErrorCode.INTERNAL_SERVER_ERROR },
    };
  };
}
