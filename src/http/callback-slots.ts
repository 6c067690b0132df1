import type { GraphQLSchema } from 'graphql';

/**
 * The callback subscriptions one process holds, for the cap (SUBSCRIPTION_CALLBACK_MAX) and
 * the `payments_subscriptions_active` gauge.
 *
 * Apollo's callback plugin owns each subscription's life (check, heartbeats, a 404 ending
 * it) and tells nobody when it ends. What it always does at the end is finish or `return()`
 * the graphql-js source stream, so that is where the end is observed: the schema's
 * subscription resolvers are wrapped once, and a stream started for a callback request (its
 * context registered here) is tracked until it finishes, is returned or throws. A request
 * that never gets a stream (its `check` failed, the resolver refused) releases its slot when
 * its response is sent.
 */
export class CallbackSlots {
  private active = 0;
  private readonly byContext = new WeakMap<object, Slot>();
  private readonly wrapped = new WeakSet<GraphQLSchema>();

  constructor(
    readonly max: number,
    private readonly onStream?: (subscription: string, delta: 1 | -1) => void,
  ) {}

  /** Subscriptions held now (streams running, plus requests still waiting for their check). */
  get size(): number {
    return this.active;
  }

  /** A slot for one more subscription, or undefined when the process holds `max`. */
  acquire(): Slot | undefined {
    if (this.active >= this.max) return undefined;
    this.active++;
    let released = false;
    const slot: Slot = {
      streaming: false,
      release: () => {
        if (released) return;
        released = true;
        this.active--;
      },
    };
    return slot;
  }

  /** From now on, a stream the schema starts with `context` belongs to `slot`. */
  bind(context: object, slot: Slot): void {
    this.byContext.set(context, slot);
  }

  /** Wraps every subscription resolver of `schema` (once), so streams can be tracked. */
  watch(schema: GraphQLSchema): void {
    if (this.wrapped.has(schema)) return;
    this.wrapped.add(schema);
    for (const field of Object.values(schema.getSubscriptionType()?.getFields() ?? {})) {
      const subscribe = field.subscribe;
      if (!subscribe) continue;
      field.subscribe = (source, args, context, info) => {
        const slot =
          typeof context === 'object' && context ? this.byContext.get(context) : undefined;
        const result = subscribe(source, args, context, info);
        if (!slot) return result;
        return Promise.resolve(result).then((stream) =>
          this.track(stream as AsyncIterable<unknown>, field.name, slot),
        );
      };
    }
  }

  private track(
    stream: AsyncIterable<unknown>,
    subscription: string,
    slot: Slot,
  ): AsyncIterableIterator<unknown> {
    const iterator = stream[Symbol.asyncIterator]();
    slot.streaming = true;
    this.onStream?.(subscription, 1);
    let ended = false;
    const end = () => {
      if (ended) return;
      ended = true;
      this.onStream?.(subscription, -1);
      slot.release();
    };
    return {
      async next() {
        try {
          const result = await iterator.next();
          if (result.done) end();
          return result;
        } catch (error) {
          end();
          throw error;
        }
      },
      async return(value?: unknown) {
        end();
        return iterator.return ? iterator.return(value) : { done: true, value };
      },
      async throw(error?: unknown) {
        end();
        if (iterator.throw) return iterator.throw(error);
        throw error;
      },
      [Symbol.asyncIterator]() {
        return this;
      },
    };
  }
}

export interface Slot {
  /** True once the subscription's stream started (its end releases the slot). */
  streaming: boolean;
  /** Gives the slot back; idempotent. */
  release(): void;
}

/**
 * The `fetch` Apollo's plugin sends callbacks with: redirects are never followed (a 3xx is a
 * failed message, which ends the subscription), each request gives up after `timeoutMs` (a
 * target that never answers would otherwise hold the request, and the caller, forever), and
 * the answer's body is discarded unread (the plugin reads only the status; an unread body
 * would hold its connection).
 */
export function callbackFetch(timeoutMs: number) {
  return async (
    url: string,
    init?: { method?: string; headers?: Record<string, string>; body?: string | Buffer },
  ): Promise<Response> => {
    const response = await fetch(url, {
      method: init?.method,
      headers: init?.headers,
      body: typeof init?.body === 'string' ? init.body : init?.body?.toString('utf8'),
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutMs),
    });
    await response.body?.cancel().catch(() => undefined);
    return response;
  };
}
