import type { DocumentNode, GraphQLError, GraphQLSchema, OperationDefinitionNode } from 'graphql';
import type { Logger } from '../../../logger.js';
import type { Caller, OperationPlugin } from '../../pipeline/index.js';
import { forbidden, unauthenticated } from './errors.js';
import type { AuthOptions } from './options.js';
import { operationRequirement, unmetScopes } from './requirements.js';
import { createTokenVerifier, type Principal } from './verify.js';

export type { AuthOptions } from './options.js';

/**
 * The token and scope rules of the schema's own directives, as one pipeline plugin: an
 * operation is passed or refused whole in the execute hook, before anything runs. Over HTTP
 * the token is the request's `Authorization` header; over a WebSocket the upgrade request's
 * header, else the `connection_init` payload field `authorization`, verified once per socket
 * and its expiry checked on every subscribe.
 */
export function authPlugin(
  options: AuthOptions,
  schema: GraphQLSchema,
  logger: Logger,
): OperationPlugin {
  const verify = createTokenVerifier(options, logger);
  const now = options.now ?? Date.now;
  const perSocket = new WeakMap<object, Promise<Principal | undefined>>();

  /** undefined when the operation may run; the error to answer otherwise. */
  const decide = async (
    principal: Promise<Principal | undefined>,
    document: DocumentNode,
    operation: OperationDefinitionNode | null | undefined,
  ): Promise<GraphQLError | undefined> => {
    let who: Principal | undefined;
    try {
      who = await principal;
    } catch (error) {
      return error as GraphQLError;
    }
    if (!operation) return undefined; // GraphQL itself reports the missing operation.
    const requirement = operationRequirement(schema, document, operation);
    if (!requirement.authenticated) return undefined;
    if (!who) {
      return unauthenticated(
        'This operation needs a bearer token (Authorization: Bearer <token>); none came.',
      );
    }
    // The same leeway jose gave at verification: a socket's token is re-checked per subscribe.
    if (who.expiresAt + who.leewayMs <= now())
      return unauthenticated('The bearer token was refused: it has expired.');
    const unmet = unmetScopes(requirement, who.scopes);
    return unmet ? forbidden(unmet, who.scopes) : undefined;
  };

  /** A socket's token is verified once; an HTTP request's, each time. */
  const principalOf = (caller: Caller, connection: object) => {
    if (caller.transport === 'http') return verify(headerOf(caller));
    let principal = perSocket.get(connection);
    if (!principal) {
      principal = verify(tokenOf(caller));
      // Settled either way: a refusal is answered per subscribe, not as an unhandled rejection.
      principal.catch(() => undefined);
      perSocket.set(connection, principal);
    }
    return principal;
  };

  return {
    name: 'auth',
    onExecute: ({ caller, connection, document, operation }) =>
      decide(principalOf(caller, connection), document, operation),
  };
}

function headerOf(caller: Caller): string | undefined {
  const header = caller.headers.authorization;
  return typeof header === 'string' ? header : undefined;
}

/** The upgrade request's Authorization header, else `connection_init`'s `authorization`. */
function tokenOf(caller: Caller): string | undefined {
  const header = headerOf(caller);
  if (header !== undefined && header !== '') return header;
  const fromInit = caller.connectionParams?.authorization ?? caller.connectionParams?.Authorization;
  return typeof fromInit === 'string' ? fromInit : undefined;
}
