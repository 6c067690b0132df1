/**
 * `npm run supergraph` only (src/tools/supergraph.ts); the service itself never reads them.
 * Part of the configuration table (./variables.ts): in README order.
 */
import { int, origins, text } from './variable.js';

export const SUPERGRAPH_VARIABLES = {
  GATEWAY_PORT: int({
    default: 4100,
    min: 0,
    max: 65535,
    meaning: "`npm run supergraph` only: Hive Gateway's port",
  }),
  ORDERS_PORT: int({
    default: 4003,
    min: 0,
    max: 65535,
    meaning: "`npm run supergraph` only: the example orders subgraph's port",
  }),
  SUPERGRAPH_FILE: text({
    default: 'supergraph.graphql',
    meaning: '`npm run supergraph` only: where the composed supergraph SDL is written',
  }),
  GATEWAY_CORS_ORIGINS: origins({
    shown: "the gateway's own origins",
    meaning:
      '`npm run supergraph` only: comma-separated browser origins its CORS allows (default `http://localhost:$GATEWAY_PORT`, `http://127.0.0.1:$GATEWAY_PORT`); CSRF prevention is always on',
  }),
};
