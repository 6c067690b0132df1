import { print } from 'graphql';
import { createClient, type Client } from 'graphql-ws';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { randomUUID } from 'node:crypto';
import WebSocket from 'ws';
import { GroupPurchaseChangedDocument } from '../generated/graphql.js';
import { TEST_SECRETS, type TestApp } from './app.js';

const auth = TEST_SECRETS.PBG_MERCHANT_AUTH;

export interface ConnectOptions {
  /** Headers of the upgrade request (e.g. the router secret). */
  headers?: Record<string, string>;
  /** The `connection_init` payload. */
  connectionParams?: Record<string, unknown>;
}

/** A graphql-ws client on `${httpUrl}/graphql`, connected eagerly. Dispose it after use. */
export function connectWs(httpUrl: string, options: ConnectOptions = {}): Client {
  const headers = options.headers;
  return createClient({
    url: `${httpUrl.replace(/^http/, 'ws')}/graphql`,
    webSocketImpl: headers
      ? class extends WebSocket {
          constructor(url: string, protocols?: string | string[]) {
            super(url, protocols, { headers });
          }
        }
      : WebSocket,
    connectionParams: options.connectionParams,
    lazy: false,
    retryAttempts: 0,
  });
}

/** A live subscription over a real WebSocket, collecting what arrives. */
export interface Live<R> {
  events: R[];
  errors: unknown[];
  /** Resolves when the server completes the stream or it errors. */
  done: Promise<void>;
  /**
   * Resolves with the first `count` events once they have arrived. Rejects if the stream ends
   * first, or after `timeoutMs` (a bound so a missing event fails with a message, not a hang).
   */
  waitFor(count: number, timeoutMs?: number): Promise<R[]>;
  stop(): void;
}

/** Subscribes with a typed document or raw GraphQL text. */
export function subscribe<R, V = Record<string, unknown>>(
  client: Client,
  query: TypedDocumentNode<R, V> | string,
  variables?: V,
): Live<R> {
  const events: R[] = [];
  const errors: unknown[] = [];
  interface Waiter {
    count: number;
    resolve: () => void;
    reject: (error: Error) => void;
  }
  const waiters = new Set<Waiter>();
  let ended = false;
  const check = () => {
    for (const waiter of [...waiters]) {
      if (events.length >= waiter.count) waiter.resolve();
      else if (ended)
        waiter.reject(
          new Error(
            `stream ended after ${events.length} of ${waiter.count} events` +
              (errors.length > 0 ? `: ${JSON.stringify(errors)}` : ''),
          ),
        );
      else continue;
      waiters.delete(waiter);
    }
  };
  let unsubscribe: () => void = () => undefined;
  const done = new Promise<void>((resolve) => {
    const end = () => {
      ended = true;
      check();
      resolve();
    };
    unsubscribe = client.subscribe<R>(
      {
        query: typeof query === 'string' ? query : print(query),
        variables: variables as Record<string, unknown> | undefined,
      },
      {
        next: (value) => {
          if (value.errors) errors.push(...value.errors);
          if (value.data) events.push(value.data as R);
          check();
        },
        error: (error) => {
          errors.push(error);
          end();
        },
        complete: end,
      },
    );
  });
  return {
    events,
    errors,
    done,
    stop: () => unsubscribe(),
    waitFor: (count, timeoutMs = 10_000) =>
      new Promise<R[]>((resolve, reject) => {
        const waiter: Waiter = {
          count,
          resolve: () => {
            clearTimeout(timer);
            resolve(events.slice(0, count));
          },
          reject: (error) => {
            clearTimeout(timer);
            reject(error);
          },
        };
        const timer = setTimeout(() => {
          waiters.delete(waiter);
          reject(
            new Error(
              `waited ${timeoutMs} ms for ${count} events; got ${events.length}` +
                (errors.length > 0 ? ` and errors ${JSON.stringify(errors)}` : ''),
            ),
          );
        }, timeoutMs);
        waiters.add(waiter);
        check();
      }),
  };
}

/** POSTs a change push to an instance, as PayByGroup would. */
export async function push(
  app: TestApp,
  body: unknown,
): Promise<{ status: number; json: unknown }> {
  const response = await fetch(`${app.url}/pbg/change_push`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: response.status, json: await response.json() };
}

/**
 * Resolves once the subscriptions `client` opened so far are live end to end (through Redis
 * when the instances share one).
 *
 * graphql-ws acknowledges a connection, not a subscription, and the subscriber's instance
 * SUBSCRIBEs to the Redis channel asynchronously — a push published before that is simply not
 * heard. So a probe subscription is opened after the ones under test (same connection, same
 * server code path, so it is registered after them), and distinct probe events are pushed to
 * `publisher` until one arrives at the probe: by then Redis delivers to the subscriber's
 * instance and the earlier subscriptions are listening. Bounded: 50 pushes, then it fails.
 */
export async function untilLive(client: Client, publisher: TestApp): Promise<void> {
  const probeId = `PROBE_${randomUUID()}`;
  const probe = subscribe(client, GroupPurchaseChangedDocument, {
    filter: { purchaseIds: [probeId] },
  });
  try {
    for (let attempt = 1; attempt <= 50; attempt++) {
      const pushed = await push(publisher, {
        merchant_auth: auth,
        // A new num_people per attempt: the same content would be deduplicated as a repeat.
        events: [{ purchase_id: probeId, status: 'pending', num_people: attempt }],
      });
      if (JSON.stringify(pushed.json) !== '{"result":true}') {
        throw new Error(`probe push refused: ${pushed.status} ${JSON.stringify(pushed.json)}`);
      }
      const heard = await probe.waitFor(1, 200).then(
        () => true,
        () => false,
      );
      if (heard) return;
    }
    throw new Error(`no probe event reached the subscriber's instance after 50 pushes`);
  } finally {
    probe.stop();
  }
}
