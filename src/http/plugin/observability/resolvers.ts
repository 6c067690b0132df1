import { SpanStatusCode, type Tracer } from '@opentelemetry/api';
import { defaultFieldResolver, type GraphQLFieldResolver, type GraphQLSchema } from 'graphql';

/**
 * Wraps each root field's resolver (Query, Mutation, `_entities`) in a span. Called only when
 * spans are recorded: without an exporter the no-op tracer's span is a non-recording copy of
 * the operation's context — the same trace id in log lines and the same `traceparent` to the
 * upstreams as without it — so the wrapper would only cost (an async context frame per root
 * field: twenty for a query of twenty aliases).
 */
export function traceResolvers(schema: GraphQLSchema, tracer: Tracer): void {
  for (const root of [schema.getQueryType(), schema.getMutationType()]) {
    if (!root) continue;
    for (const field of Object.values(root.getFields())) {
      if (field.name.startsWith('__') || field.name === '_service') continue;
      const resolve: GraphQLFieldResolver<unknown, unknown> = field.resolve ?? defaultFieldResolver;
      const name = `resolve ${root.name}.${field.name}`;
      const path = `${root.name}.${field.name}`;
      field.resolve = (source, args, ctx, info) =>
        tracer.startActiveSpan(name, (span) => {
          span.setAttribute('graphql.field.path', path);
          try {
            const result = resolve(source, args, ctx, info);
            if (result instanceof Promise) {
              return result.then(
                (value) => (span.end(), value),
                (error: unknown) => {
                  span.setStatus({ code: SpanStatusCode.ERROR });
                  span.end();
                  throw error;
                },
              );
            }
            span.end();
            return result;
          } catch (error) {
            span.setStatus({ code: SpanStatusCode.ERROR });
            span.end();
            throw error;
          }
        });
    }
  }
}
