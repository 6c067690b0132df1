import type { ApolloServerPlugin } from '@apollo/server';
import type { RequestHandler } from 'express';
import {
  GraphQLError,
  type ExecutionArgs,
  type ExecutionResult,
  type GraphQLSchema,
  type ValidationRule,
} from 'graphql';
import type { Logger } from '../../logger.js';
import { createAuthGuard, type AuthOptions, type WsConnection } from './auth/index.js';
import { createOperationLimits, type OperationLimitsOptions } from './limits/index.js';

export interface OperationGuardOptions {
  schema: GraphQLSchema;
  limits: OperationLimitsOptions;
  /** Token verification; off when undefined. @default undefined */
  auth?: AuthOptions;
  logger: Logger;
}

/** A subscribe message as graphql-ws hands it over. */
export interface WsSubscribePayload {
  query: string;
  operationName?: string | null;
  variables?: Record<string, unknown> | null;
}

export interface OperationGuard {
  /** Spread into `new ApolloServer({...})`'s `validationRules` and `plugins`. */
  apollo: {
    validationRules: ValidationRule[];
    plugins: ApolloServerPlugin[];
    /** Mounted on /graphql after the JSON body parser, before Apollo Server. */
    middleware: RequestHandler;
  };
  /** graphql-ws hooks: the same limits and token rules as HTTP. */
  ws: {
    /** graphql-ws `onSubscribe`: errors, or ready execution args (parsed and validated once). */
    onSubscribe(
      connection: WsConnection,
      id: string,
      payload: WsSubscribePayload,
    ): Promise<readonly GraphQLError[] | ExecutionArgs>;
    /** For graphql-ws `onNext` / `onError`: suggestions removed when configured. */
    scrub<E extends { message: string }>(errors: readonly E[]): E[];
    scrubResult(result: ExecutionResult): ExecutionResult;
  };
}

/**
 * Everything that stands between a request and the resolvers, in one place: per-operation
 * limits (graphql-armor), hidden suggestions, and — when AUTH_JWKS_URL is set — the token and
 * scope rules of the schema's own directives. Over HTTP and WebSocket alike, and always
 * before anything executes, so a refused operation never reaches an upstream.
 */
export function createOperationGuard(options: OperationGuardOptions): OperationGuard {
  const { schema } = options;
  const limits = createOperationLimits(options.limits);
  const auth = options.auth ? createAuthGuard(options.auth, schema, options.logger) : undefined;
  return {
    apollo: {
      validationRules: limits.validationRules,
      plugins: auth ? [limits.plugin, auth.plugin] : [limits.plugin],
      middleware: limits.tokenLimit,
    },
    ws: {
      async onSubscribe(connection, _id, payload) {
        const checked = limits.check(schema, payload.query);
        if (checked.errors) return checked.errors.map(withoutHttp);
        const tooMany = limits.checkVariables(
          schema,
          checked.document,
          payload.operationName,
          payload.variables,
        );
        if (tooMany) return [withoutHttp(tooMany)];
        const refused = await auth?.checkSubscribe(
          connection,
          checked.document,
          payload.operationName,
        );
        if (refused) return [withoutHttp(refused)];
        return {
          schema,
          document: checked.document,
          operationName: payload.operationName,
          variableValues: payload.variables,
        };
      },
      scrub: limits.scrub,
      scrubResult: (result) =>
        result.errors ? { ...result, errors: limits.scrub(result.errors) } : result,
    },
  };
}

/** `extensions.http` is Apollo Server's status hint; over a WebSocket it means nothing. */
function withoutHttp(error: GraphQLError): GraphQLError {
  if (error.extensions.http === undefined) return error;
  const { http: _http, ...extensions } = error.extensions;
  return new GraphQLError(error.message, {
    nodes: error.nodes,
    source: error.source,
    positions: error.positions,
    originalError: error.originalError,
    extensions,
  });
}
