import WebSocket from 'ws';

/** One graphql-transport-ws message as it arrived: its text, byte for byte, and parsed. */
export interface RawMessage {
  text: string;
  id?: string;
  type: string;
  payload?: unknown;
}

/**
 * A graphql-ws connection spoken by hand over a plain `ws` socket, for what the graphql-ws
 * client hides: the exact bytes of each message, the operation ids, several operations per
 * socket with ids the test chooses, and the socket itself (to stop reading from it).
 */
export interface RawConnection {
  socket: WebSocket;
  messages: RawMessage[];
  /** Resolves with the close code and reason once the socket closed. */
  closed: Promise<{ code: number; reason: string }>;
  subscribe(id: string, query: string, variables?: Record<string, unknown>): void;
  complete(id: string): void;
  /** The `next` messages of operation `id`, in order. */
  nexts(id: string): RawMessage[];
  /**
   * Resolves once `predicate` holds over the messages so far; rejects after `timeoutMs` (a bound
   * so a missing message fails with a message, not a hang) or if the socket closes first.
   */
  until(predicate: () => boolean, what: string, timeoutMs?: number): Promise<void>;
}

/** Opens `${httpUrl}/graphql`, sends connection_init and resolves once it is acknowledged. */
export async function connectRaw(httpUrl: string): Promise<RawConnection> {
  const socket = new WebSocket(`${httpUrl.replace(/^http/, 'ws')}/graphql`, 'graphql-transport-ws');
  const messages: RawMessage[] = [];
  const checks = new Set<() => void>();
  let isClosed = false;
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    socket.once('close', (code, reason) => {
      isClosed = true;
      for (const check of [...checks]) check();
      resolve({ code, reason: String(reason) });
    }),
  );
  socket.on('message', (data) => {
    const text = String(data);
    messages.push({ text, ...(JSON.parse(text) as Omit<RawMessage, 'text'>) });
    for (const check of [...checks]) check();
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  const send = (message: unknown) => socket.send(JSON.stringify(message));
  const connection: RawConnection = {
    socket,
    messages,
    closed,
    subscribe: (id, query, variables) =>
      send({ id, type: 'subscribe', payload: { query, variables } }),
    complete: (id) => send({ id, type: 'complete' }),
    nexts: (id) => messages.filter((m) => m.id === id && m.type === 'next'),
    until: (predicate, what, timeoutMs = 10_000) =>
      new Promise<void>((resolve, reject) => {
        const check = () => {
          if (predicate()) finish();
          else if (isClosed) finish(new Error(`socket closed before ${what}`));
        };
        const finish = (error?: Error) => {
          clearTimeout(timer);
          checks.delete(check);
          if (error) reject(error);
          else resolve();
        };
        const timer = setTimeout(
          () => finish(new Error(`waited ${timeoutMs} ms for ${what}`)),
          timeoutMs,
        );
        checks.add(check);
        check();
      }),
  };
  send({ type: 'connection_init' });
  await connection.until(() => messages.some((m) => m.type === 'connection_ack'), 'connection_ack');
  return connection;
}

/** The payload part of a `next` message's text: what every subscriber must get byte for byte. */
export function payloadText(message: RawMessage): string {
  const at = message.text.indexOf('"payload":');
  if (at < 0) throw new Error(`no payload in ${message.text.slice(0, 100)}`);
  return message.text.slice(at);
}
