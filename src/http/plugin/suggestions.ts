import { GraphQLError } from 'graphql';

/**
 * "Did you mean …" suggestions name fields, arguments, types and enum values a caller did not
 * ask about: a map of the schema for someone who has no introspection. GraphQL words them in
 * several ways ('Did you mean "x"?', 'Did you mean the enum value "X"?', 'Did you mean "a" or
 * "b"?'); all end at the question mark.
 */
const SUGGESTION = /\s*Did you mean [^?]*\?/g;

export function withoutSuggestions(message: string): string {
  return message.replace(SUGGESTION, '').trim();
}

/** The error with its suggestions removed (the same object when it had none). */
export function hideSuggestions<E extends { message: string }>(error: E): E {
  const message = withoutSuggestions(error.message);
  if (message === error.message) return error;
  if (error instanceof GraphQLError) {
    return new GraphQLError(message, {
      nodes: error.nodes,
      source: error.source,
      positions: error.positions,
      path: error.path,
      originalError: error.originalError,
      extensions: error.extensions,
    }) as unknown as E;
  }
  return { ...error, message };
}
