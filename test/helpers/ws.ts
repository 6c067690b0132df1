import { print } from 'graphql';
import { createClient, type Client } from 'graphql-ws';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import WebSocket from 'ws';

/** A graphql-ws client on `${httpUrl}/graphql`, connected eagerly. Dispose it after use. */
export function connectWs(httpUrl: string): Client {
  return createClient({
    url: `${httpUrl.replace(/^http/, 'ws')}/graphql`,
    webSocketImpl: WebSocket,
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
