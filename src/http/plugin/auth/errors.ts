import { GraphQLError } from 'graphql';
import { ErrorCode } from '../../../errors.js';

/** No token, or one that failed verification. Never quotes the token. */
export function unauthenticated(message: string): GraphQLError {
  return new GraphQLError(message, {
    extensions: { code: ErrorCode.UNAUTHENTICATED, http: { status: 401 } },
  });
}

/** A valid token without the scopes this operation needs. */
export function forbidden(required: string[][], granted: ReadonlySet<string>): GraphQLError {
  const needed = required.map((all) => all.join(' and ')).join(', or ');
  const has = granted.size > 0 ? [...granted].sort().join(' ') : 'no scopes';
  return new GraphQLError(`This operation needs the scope ${needed}; the token carries ${has}.`, {
    extensions: { code: ErrorCode.FORBIDDEN, requiredScopes: required, http: { status: 403 } },
  });
}
