import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { OperationPlugin } from '../../pipeline/index.js';

/** What a router's `x-request-id` may look like to be taken over as ours. */
const INBOUND_ID = /^[\w.:-]{1,128}$/;

/** Request id: this plugin has no options. */
export type RequestIdOptions = Record<string, never>;

/** A router's `x-request-id` when it is sane, otherwise a new one. */
export function requestIdOf(headers: IncomingHttpHeaders): string {
  const inbound = headers['x-request-id'];
  return typeof inbound === 'string' && INBOUND_ID.test(inbound) ? inbound : randomUUID();
}

/**
 * Every request gets an id its log lines carry: the router's `x-request-id` when it is sane,
 * otherwise a new one. Over HTTP it is echoed in the `x-request-id` response header; over a
 * WebSocket each `subscribe` message gets its own (from the upgrade request's header, or new).
 */
export function requestIdPlugin(_options: RequestIdOptions = {}): OperationPlugin {
  return {
    name: 'request-id',
    onRequestStart(caller, state) {
      state.requestId = requestIdOf(caller.headers);
      if (caller.transport === 'http') state.responseHeaders['x-request-id'] = state.requestId;
    },
  };
}
