/**
 * A GraphQL subscription over Server-Sent Events (GraphQL over SSE, "distinct connections"
 * mode, as GraphQL Yoga and Hive Gateway serve it): POST with `Accept: text/event-stream`, then
 * `event: next` / `event: complete` blocks.
 */
export interface SseLive<R> {
  events: R[];
  errors: unknown[];
  /** Resolves when the server sends `complete` or closes the stream. */
  done: Promise<void>;
  /** Resolves once `count` events have arrived; rejects after `timeoutMs` or if the stream ends first. */
  waitFor(count: number, timeoutMs?: number): Promise<R[]>;
  stop(): void;
}

export function subscribeSse<R>(
  url: string,
  query: string,
  variables?: Record<string, unknown>,
): SseLive<R> {
  const events: R[] = [];
  const errors: unknown[] = [];
  const abort = new AbortController();
  let ended = false;
  const listeners = new Set<() => void>();
  const notify = () => listeners.forEach((listener) => listener());
  const onBlock = (block: string) => {
    const event = /^event: *(.*)$/m.exec(block)?.[1];
    const data = block
      .split('\n')
      .filter((line) => line.startsWith('data:'))
      .map((line) => line.slice(5).trim())
      .join('\n');
    if (event === 'next' && data) {
      const value = JSON.parse(data) as { data?: R; errors?: unknown[] };
      if (value.errors) errors.push(...value.errors);
      if (value.data) events.push(value.data);
    }
  };
  const done = (async () => {
    try {
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
        body: JSON.stringify({ query, variables }),
        signal: abort.signal,
      });
      if (!response.ok || !response.body) {
        errors.push(`HTTP ${response.status}: ${await response.text()}`);
        return;
      }
      const decoder = new TextDecoder();
      let buffered = '';
      const reader = response.body.getReader();
      for (;;) {
        const { done: finished, value } = await reader.read();
        if (finished) return;
        buffered += decoder.decode(value, { stream: true });
        const blocks = buffered.split('\n\n');
        buffered = blocks.pop() ?? '';
        for (const block of blocks) {
          onBlock(block);
          if (/^event: *complete/m.test(block)) return;
        }
        notify();
      }
    } catch (error) {
      if (!abort.signal.aborted) errors.push(error);
    } finally {
      ended = true;
      notify();
    }
  })();
  return {
    events,
    errors,
    done,
    stop: () => abort.abort(),
    waitFor: (count, timeoutMs = 10_000) =>
      new Promise<R[]>((resolve, reject) => {
        const check = () => {
          if (events.length >= count) finish(() => resolve(events.slice(0, count)));
          else if (ended) {
            finish(() =>
              reject(
                new Error(
                  `SSE stream ended after ${events.length} of ${count} events: ${JSON.stringify(errors)}`,
                ),
              ),
            );
          }
        };
        const timer = setTimeout(
          () =>
            finish(() =>
              reject(
                new Error(`waited ${timeoutMs} ms for ${count} SSE events; got ${events.length}`),
              ),
            ),
          timeoutMs,
        );
        const finish = (settle: () => void) => {
          clearTimeout(timer);
          listeners.delete(check);
          settle();
        };
        listeners.add(check);
        check();
      }),
  };
}
