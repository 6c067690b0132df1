import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One message of Apollo's HTTP callback protocol, as the router received it. */
export interface CallbackMessage {
  kind: string;
  action: 'check' | 'next' | 'complete' | string;
  id: string;
  verifier: string;
  payload?: { data?: Record<string, unknown> | null; errors?: unknown[] };
  errors?: unknown[];
  /** The `subscription-protocol` header, when sent. */
  protocol?: string;
}

export interface CallbackRouter {
  url: string;
  /** Messages received per subscription id, in arrival order. */
  messages(id: string): CallbackMessage[];
  /** From now on, answer 404 to this subscription (as a router does once it dropped it). */
  forget(id: string): void;
  /** How many requests were answered 404. */
  notFound(id: string): number;
  /** Resolves once `predicate` holds for the messages of `id`; rejects after `timeoutMs`. */
  until(
    id: string,
    predicate: (messages: CallbackMessage[]) => boolean,
    timeoutMs?: number,
  ): Promise<CallbackMessage[]>;
  /**
   * POSTs a subscription to a subgraph's /graphql the way a router using the callback protocol
   * does; resolves with the subgraph's HTTP answer.
   */
  subscribe(
    graphqlUrl: string,
    query: string,
    variables?: Record<string, unknown>,
    heartbeatIntervalMs?: number,
  ): Promise<{ id: string; verifier: string; status: number; body: unknown }>;
  close(): Promise<void>;
}

/**
 * A router-like harness over real HTTP: it receives callbacks on `/callback/<id>`, answers
 * 204 to known subscriptions (404 once forgotten) and records every message.
 */
export async function startCallbackRouter(): Promise<CallbackRouter> {
  const received = new Map<string, CallbackMessage[]>();
  const forgotten = new Set<string>();
  const notFound = new Map<string, number>();
  const listeners = new Set<() => void>();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const id = decodeURIComponent((req.url ?? '').replace(/^\/callback\//, ''));
      if (forgotten.has(id)) {
        notFound.set(id, (notFound.get(id) ?? 0) + 1);
        res.writeHead(404).end();
        listeners.forEach((listener) => listener());
        return;
      }
      let message: CallbackMessage;
      try {
        message = JSON.parse(Buffer.concat(chunks).toString('utf8')) as CallbackMessage;
      } catch {
        res.writeHead(400).end();
        return;
      }
      const protocol = req.headers['subscription-protocol'];
      if (typeof protocol === 'string') message.protocol = protocol;
      received.set(id, [...(received.get(id) ?? []), message]);
      res.writeHead(204).end();
      listeners.forEach((listener) => listener());
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const messages = (id: string) => received.get(id) ?? [];

  return {
    url,
    messages,
    forget: (id) => void forgotten.add(id),
    notFound: (id) => notFound.get(id) ?? 0,
    until: (id, predicate, timeoutMs = 15_000) =>
      new Promise((resolve, reject) => {
        const check = () => {
          if (!predicate(messages(id))) return;
          clearTimeout(timer);
          listeners.delete(check);
          resolve(messages(id));
        };
        const timer = setTimeout(() => {
          listeners.delete(check);
          reject(
            new Error(`callback condition not met for ${id}: ${JSON.stringify(messages(id))}`),
          );
        }, timeoutMs);
        listeners.add(check);
        check();
      }),
    async subscribe(graphqlUrl, query, variables, heartbeatIntervalMs = 50) {
      const id = randomUUID();
      const verifier = randomUUID();
      const response = await fetch(graphqlUrl, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/json;callbackSpec=1.0',
        },
        body: JSON.stringify({
          query,
          variables,
          extensions: {
            subscription: {
              callbackUrl: `${url}/callback/${id}`,
              subscriptionId: id,
              verifier,
              heartbeatIntervalMs,
            },
          },
        }),
      });
      return { id, verifier, status: response.status, body: await response.json() };
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
