import { HeaderMap, type ApolloServer, type BaseContext } from '@apollo/server';
import type { Request, RequestHandler, Response } from 'express';

export interface GraphqlHandlerOptions<Context extends BaseContext> {
  /** Builds the operation's context from the express request. */
  context: (args: { req: Request; res: Response }) => Promise<Context>;
}

/**
 * Apollo Server on express 5: what `expressMiddleware` from `@as-integrations/express5` does,
 * but the query string is cut from `req.url` instead of parsed with the legacy `url.parse`,
 * which built a whole URL object per request for it — 3 % of the pending batch read's CPU
 * under load (docs/behaviour.md, "Reads and caching"). Apollo Server reads the string with
 * `URLSearchParams`, so the characters `url.parse` would have percent-escaped decode to the
 * same parameters either way. Everything else is as in that middleware: the headers joined,
 * the status and headers Apollo set, a complete body sent with `res.send` (an incremental one
 * written chunk by chunk).
 */
export function graphqlHandler<Context extends BaseContext>(
  server: ApolloServer<Context>,
  options: GraphqlHandlerOptions<Context>,
): RequestHandler {
  server.assertStarted('graphqlHandler()');
  return async (req, res) => {
    if (!('body' in req)) {
      res.status(500);
      res.send(
        '`req.body` is not set; this probably means you forgot to set up the ' +
          '`json` middleware before the Apollo Server middleware.',
      );
      return;
    }
    const headers = new HeaderMap();
    for (const [key, value] of Object.entries(req.headers)) {
      if (value !== undefined) headers.set(key, Array.isArray(value) ? value.join(', ') : value);
    }
    const response = await server.executeHTTPGraphQLRequest({
      httpGraphQLRequest: {
        method: req.method.toUpperCase(),
        headers,
        search: searchOf(req.url),
        body: req.body,
      },
      context: () => options.context({ req, res }),
    });
    for (const [key, value] of response.headers) res.setHeader(key, value);
    res.statusCode = response.status || 200;
    if (response.body.kind === 'complete') {
      res.send(response.body.string);
      return;
    }
    for await (const chunk of response.body.asyncIterator) {
      res.write(chunk);
      const flush = (res as { flush?: () => void }).flush;
      if (typeof flush === 'function') flush.call(res);
    }
    res.end();
  };
}

/** The query string of a request target with its `?` ('' when none), without a fragment. */
export function searchOf(url: string): string {
  const start = url.indexOf('?');
  if (start === -1) return '';
  const hash = url.indexOf('#', start);
  return hash === -1 ? url.slice(start) : url.slice(start, hash);
}
