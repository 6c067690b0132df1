import type { FaultQueue } from './faults.js';
import { SandboxControlError, type BatchStore, type SimBatch } from './store.js';
import type { ChillrCallCounts, SettablePaymentStatus } from './types.js';

/** What the `/_sandbox/` routes act on; the same objects the programmatic API uses. */
export interface ControlContext {
  store: BatchStore;
  faults: FaultQueue;
  calls: ChillrCallCounts;
  resetCalls(): void;
}

export interface ControlReply {
  status: number;
  body: unknown;
}

type Handler = (ctx: ControlContext, params: string[], body: () => unknown) => ControlReply;

interface Route {
  method: 'GET' | 'POST' | 'DELETE';
  path: RegExp;
  handler: Handler;
}

/** Everything the control API knows about a batch, including what the upstream never returns. */
export function batchView(store: BatchStore, batch: SimBatch): Record<string, unknown> {
  return {
    batchId: batch.batchId,
    name: batch.name,
    expiryDate: batch.expiryDate,
    expiresAt: batch.expiresAt.toISOString(),
    createdAt: batch.createdAt.toISOString(),
    expiredByControl: batch.expiredByControl,
    batchStatus: store.batchStatus(batch),
    customers: batch.customers.map((c) => ({
      msisdn: c.msisdn,
      amount: c.amount,
      chillrUser: c.chillrUser,
      transactionId: c.transactionId ?? null,
      /** What was set; `paymentStatus` is what check_collect_status reports. */
      storedPaymentStatus: c.paymentStatus ?? null,
      paymentStatus: store.paymentStatus(batch, c) ?? null,
    })),
  };
}

function callsView(calls: ChillrCallCounts): Record<string, unknown> {
  return {
    collect: calls.collect,
    checkCollectStatus: calls.checkCollectStatus,
    byBatchId: Object.fromEntries(calls.byBatchId),
  };
}

const ok = (body: unknown, status = 200): ControlReply => ({ status, body });

/** Route params are matched as `[^/]+` and always exist when a route matched. */
const param = (params: string[], i: number): string => params[i] ?? '';

const ROUTES: Route[] = [
  { method: 'GET', path: /^\/_sandbox\/calls$/, handler: (ctx) => ok(callsView(ctx.calls)) },
  {
    method: 'DELETE',
    path: /^\/_sandbox\/calls$/,
    handler: (ctx) => {
      ctx.resetCalls();
      return ok(callsView(ctx.calls));
    },
  },
  { method: 'GET', path: /^\/_sandbox\/faults$/, handler: (ctx) => ok(ctx.faults.pending()) },
  {
    method: 'POST',
    path: /^\/_sandbox\/faults$/,
    handler: (ctx, _p, body) => ok({ queued: ctx.faults.add(body()) }, 201),
  },
  {
    method: 'DELETE',
    path: /^\/_sandbox\/faults$/,
    handler: (ctx) => {
      ctx.faults.clear();
      return ok([]);
    },
  },
  {
    method: 'GET',
    path: /^\/_sandbox\/batches$/,
    handler: (ctx) => ok(ctx.store.all().map((b) => batchView(ctx.store, b))),
  },
  {
    method: 'GET',
    path: /^\/_sandbox\/batches\/([^/]+)$/,
    handler: (ctx, p) => ok(batchView(ctx.store, ctx.store.require(param(p, 0)))),
  },
  {
    method: 'POST',
    path: /^\/_sandbox\/batches\/([^/]+)\/expire$/,
    handler: (ctx, p) => ok(batchView(ctx.store, ctx.store.expire(param(p, 0)))),
  },
  {
    method: 'POST',
    path: /^\/_sandbox\/batches\/([^/]+)\/payments\/([^/]+)$/,
    handler: (ctx, p, body) => {
      const input = body();
      const status =
        typeof input === 'object' && input !== null && !Array.isArray(input)
          ? (input as Record<string, unknown>).status
          : undefined;
      const batch = ctx.store.setPaymentStatus(
        param(p, 0),
        param(p, 1),
        status as SettablePaymentStatus,
      );
      return ok(batchView(ctx.store, batch));
    },
  },
];

/**
 * Dispatches a `/_sandbox/` request. Control errors become 400/404 with `{"error": "..."}`; the
 * body is parsed lazily so routes without one accept anything.
 */
export function handleControl(
  ctx: ControlContext,
  method: string,
  path: string,
  raw: Buffer,
): ControlReply {
  const matching = ROUTES.map((route) => ({ route, match: route.path.exec(path) })).filter(
    (m) => m.match !== null,
  );
  if (matching.length === 0) {
    return { status: 404, body: { error: `No sandbox control route ${path}` } };
  }
  const hit = matching.find((m) => m.route.method === method);
  if (!hit) {
    const allowed = matching.map((m) => m.route.method).join(', ');
    return { status: 405, body: { error: `${method} not allowed on ${path}; use ${allowed}` } };
  }
  const body = (): unknown => {
    try {
      return JSON.parse(raw.toString('utf8'));
    } catch {
      throw new SandboxControlError('Request body must be JSON', 400);
    }
  };
  try {
    const params = hit.match!.slice(1).map((p) => decodeURIComponent(p));
    return hit.route.handler(ctx, params, body);
  } catch (error) {
    if (error instanceof SandboxControlError) {
      return { status: error.httpStatus, body: { error: error.message } };
    }
    if (error instanceof URIError) {
      return { status: 400, body: { error: `Malformed percent-encoding in ${path}` } };
    }
    throw error;
  }
}
