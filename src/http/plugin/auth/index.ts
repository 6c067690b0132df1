import type { ApolloServerPlugin } from '@apollo/server';
import {
  getOperationAST,
  type DocumentNode,
  type GraphQLError,
  type GraphQLSchema,
  type OperationDefinitionNode,
} from 'graphql';
import type { Logger } from '../../../logger.js';
import { forbidden, unauthenticated } from './errors.js';
import type { AuthOptions } from './options.js';
import { operationRequirement, unmetScopes } from './requirements.js';
import { createTokenVerifier, type Principal } from './verify.js';

export type { AuthOptions } from './options.js';

export interface AuthGuard {
  /** Apollo Server: refuses in `didResolveOperation`, before anything executes. */
  plugin: ApolloServerPlugin;
  /**
   * graphql-ws: the same rules for a subscribe message. `connection` is one per socket (the
   * graphql-ws context); its token (upgrade request header, else `connection_init` payload
   * field `authorization`) is verified once, and its expiry checked on every subscribe.
   */
  checkSubscribe(
    connection: WsConnection,
    document: DocumentNode,
    operationName: string | null | undefined,
  ): Promise<GraphQLError | undefined>;
}

/** The parts of a graphql-ws context this guard reads. */
export interface WsConnection {
  connectionParams?: Readonly<Record<string, unknown>> | undefined;
  extra: { request: { headers: Record<string, string | string[] | undefined> } };
}

export function createAuthGuard(
  options: AuthOptions,
  schema: GraphQLSchema,
  logger: Logger,
): AuthGuard {
  const verify = createTokenVerifier(options, logger);
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
    if (who.expiresAt + who.leewayMs <= Date.now())
      return unauthenticated('The bearer token was refused: it has expired.');
    const unmet = unmetScopes(requirement, who.scopes);
    return unmet ? forbidden(unmet, who.scopes) : undefined;
  };

  return {
    plugin: {
      async requestDidStart() {
        return {
          async didResolveOperation({ request, document, operation }) {
            const header = request.http?.headers.get('authorization') ?? undefined;
            const refused = await decide(verify(header), document, operation);
            if (refused) throw refused;
          },
        };
      },
    },
    checkSubscribe(connection, document, operationName) {
      let principal = perSocket.get(connection);
      if (!principal) {
        principal = verify(tokenOf(connection));
        // Settled either way: a refusal is answered per subscribe, not as an unhandled rejection.
        principal.catch(() => undefined);
        perSocket.set(connection, principal);
      }
      return decide(principal, document, getOperationAST(document, operationName));
    },
  };
}

/** The upgrade request's Authorization header, else `connection_init`'s `authorization`. */
function tokenOf(connection: WsConnection): string | undefined {
  const header = connection.extra.request.headers.authorization;
  if (typeof header === 'string' && header !== '') return header;
  const fromInit =
    connection.connectionParams?.authorization ?? connection.connectionParams?.Authorization;
  return typeof fromInit === 'string' ? fromInit : undefined;
}
