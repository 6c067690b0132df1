import { composeServices } from '@apollo/composition';
import type { SupergraphSdlHook } from '@apollo/gateway';
import { parse } from 'graphql';

/**
 * What `IntrospectAndCompose` does (each subgraph's `_service { sdl }`, composed), with one
 * difference: `@apollo/gateway` refuses a supergraph that links features `for: SECURITY`
 * (`@authenticated`, `@requiresScopes` — enforced by Apollo Router, not by the gateway), so
 * the purpose is dropped and the gateway treats them as plain directives. The tests that use
 * it prove query planning and `_entities`; auth is proven against the subgraph itself.
 */
export function introspectAndComposeForGateway(
  subgraphs: Array<{ name: string; url: string }>,
): SupergraphSdlHook {
  return async () => {
    const services = await Promise.all(
      subgraphs.map(async ({ name, url }) => {
        const response = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ query: '{ _service { sdl } }' }),
        });
        const body = (await response.json()) as { data: { _service: { sdl: string } } };
        return { name, url, typeDefs: parse(body.data._service.sdl) };
      }),
    );
    const result = composeServices(services);
    if (result.errors) throw new Error(result.errors.map((e) => e.message).join('\n'));
    return { supergraphSdl: result.supergraphSdl.replaceAll(', for: SECURITY)', ')') };
  };
}
