/**
 * The edge: who may call, the side ports, tracing, slow clients, request and WebSocket bounds.
 * Part of the configuration table (./variables.ts): in README order.
 */
import { bool, headerName, int, optionalInt, text, trustProxy, url } from './variable.js';

export const EDGE_VARIABLES = {
  ROUTER_SECRET: text({
    default: undefined,
    shown: 'unset (required in production)',
    meaning:
      'shared secret the router sends; `/graphql` answers 401 and WebSockets close 4403 without it',
  }),
  ROUTER_SECRET_HEADER: headerName({
    default: 'router-authorization',
    meaning: 'the header (and `connection_init` field) carrying `ROUTER_SECRET`',
  }),
  ALLOW_UNAUTHENTICATED_ROUTER: bool({
    default: false,
    meaning:
      '`true` lets production start without `ROUTER_SECRET`, when the network already keeps everyone but the router out',
  }),
  CALLBACK_PORT: optionalInt({
    min: 0,
    max: 65535,
    meaning:
      'a second port serving only the PayByGroup callbacks (`/pbg`); the main port then stops serving them',
  }),
  METRICS_PORT: optionalInt({
    min: 0,
    max: 65535,
    meaning:
      'serve `GET /metrics` (Prometheus) on this port only; unset = on the main port, outside the router secret (see [Operating it](docs/operating.md#operating-it))',
  }),
  OTEL_EXPORTER_OTLP_ENDPOINT: url({
    meaning:
      'OTLP/HTTP (JSON) base URL: spans go to `<endpoint>/v1/traces`; unset = no exporter, `traceparent` still propagated to both upstreams',
  }),
  OTEL_SERVICE_NAME: text({
    default: 'payments-subgraph',
    meaning: '`service.name` of the exported spans',
  }),
  HTTP_HEADERS_TIMEOUT_MS: int({
    default: 10_000,
    min: 1000,
    max: 600_000,
    meaning: 'every port: request headers must arrive within it (408)',
  }),
  HTTP_REQUEST_TIMEOUT_MS: int({
    default: 30_000,
    min: 1000,
    max: 3_600_000,
    meaning:
      'every port: the whole request, body included, must arrive within it (408); responses and WebSockets are not bounded by it',
  }),
  HTTP_BODY_IDLE_TIMEOUT_MS: int({
    default: 10_000,
    min: 0,
    max: 600_000,
    meaning:
      'every port: a request body with no byte for this long is cut off (408 naming it); `0` = off. See [docs/security.md](docs/security.md)',
  }),
  MAX_REQUEST_BYTES: int({
    default: 1_048_576,
    min: 1024,
    max: 104_857_600,
    meaning: 'largest `/graphql` body (413) and WebSocket message (closed 1009)',
  }),
  WS_MAX_SUBSCRIPTIONS_PER_CONNECTION: int({
    default: 50,
    min: 1,
    max: 10_000,
    meaning: 'operations one WebSocket may hold at once; one more is an error naming the limit',
  }),
  WS_KEEPALIVE_MS: int({
    default: 12_000,
    min: 0,
    max: 600_000,
    meaning: 'graphql-ws server ping interval (keeps idle proxies from closing subscriptions)',
  }),
  WS_INIT_TIMEOUT_MS: int({
    default: 5_000,
    min: 100,
    max: 600_000,
    meaning: 'how long a WebSocket client may take to send `connection_init`',
  }),
  WS_MAX_BUFFERED_BYTES: int({
    default: 1_048_576,
    min: 1024,
    max: 1_073_741_824,
    meaning:
      'unsent bytes one WebSocket may hold when its next message is due; past it the client is not reading and the socket is closed with 1013 naming the limit (see [Fan-out](docs/examples.md#fan-out-one-execution-per-distinct-subscription))',
  }),
  TRUST_PROXY: trustProxy({
    meaning:
      "which proxies' `X-Forwarded-For` to believe: `false`, a hop count, or addresses/CIDRs/`loopback`/`uniquelocal` (comma-separated). `true` and hop counts are refused with `PBG_ALLOWED_IPS` (a forged header would pass)",
  }),
};
