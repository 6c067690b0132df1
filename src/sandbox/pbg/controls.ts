import type { ServerResponse } from 'node:http';
import type { PbgCore } from './core.js';
import { parseFault } from './faults.js';
import { sendJson } from '../respond.js';
import { isObject, methodNotAllowed, parseJson, SandboxError } from './http.js';

/** The HTTP twin of the programmatic controls, for demos and for tests in other processes. */
export const CONTROL_PREFIX = '/_sandbox/';

// The dispatcher awaits a handler inside its try, so a handler may answer at once or later,
// and a SandboxError it throws either way becomes the error response.
type Handler = (ctx: {
  id: string;
  body: () => unknown;
}) => [number, unknown] | Promise<[number, unknown]>;
type Route = { pattern: RegExp; methods: Record<string, Handler> };

/** Snake-case aliases, so a curl user can reuse the wire names they already know. */
function startInput(body: unknown): unknown {
  if (!isObject(body)) return body;
  return {
    ...body,
    purchaseId: body.purchaseId ?? body.purchase_id,
    inventoryId: body.inventoryId ?? body.inventory_id,
    numPeople: body.numPeople ?? body.num_people,
    commitDeadline: body.commitDeadline ?? body.commit_deadline,
  };
}

function routes(core: PbgCore): Route[] {
  return [
    {
      pattern: /^purchases$/,
      methods: {
        GET: () => [200, { group_purchases: core.query({}) }],
        POST: async ({ body }) => [201, await core.startPurchase(startInput(body()))],
      },
    },
    {
      pattern: /^purchases\/([^/]+)$/,
      methods: {
        GET: ({ id }) => {
          const [purchase] = core.query({ purchase_id: id });
          if (!purchase) throw new SandboxError(404, `no purchase ${JSON.stringify(id)}`);
          return [200, purchase];
        },
        // A body `{"silent": true, "patch": {...}}` changes the purchase without a push.
        PATCH: async ({ id, body }) => {
          const raw = body();
          const silent = isObject(raw) && raw.silent === true && isObject(raw.patch);
          const patch = silent ? (raw as { patch: unknown }).patch : raw;
          return [200, await core.updatePurchase(id, patch, { push: !silent })];
        },
      },
    },
    {
      pattern: /^purchases\/([^/]+)\/pay$/,
      methods: { POST: async ({ id }) => [200, await core.payShare(id)] },
    },
    {
      pattern: /^pushes$/,
      methods: { GET: () => [200, { pushes: core.pusher.records }] },
    },
    {
      pattern: /^calls$/,
      methods: {
        GET: () => [200, { ...core.calls, callbacks: core.merchant.records }],
        DELETE: () => {
          core.resetCalls();
          return [200, { ok: true }];
        },
      },
    },
    {
      pattern: /^faults$/,
      methods: {
        POST: ({ body }) => {
          const fault = parseFault(body());
          core.faults.add(fault);
          return [201, { fault }];
        },
      },
    },
  ];
}

/** Answers a request under /_sandbox/. */
export async function handleControl(
  core: PbgCore,
  method: string,
  pathname: string,
  text: string,
  res: ServerResponse,
): Promise<void> {
  const rest = pathname.slice(CONTROL_PREFIX.length);
  for (const route of routes(core)) {
    const m = route.pattern.exec(rest);
    if (!m) continue;
    const handler = route.methods[method];
    if (!handler) {
      methodNotAllowed(res, method, Object.keys(route.methods));
      return;
    }
    try {
      let id = '';
      try {
        id = decodeURIComponent(m[1] ?? '');
      } catch {
        throw new SandboxError(400, 'the purchase id in the path is not valid percent-encoding');
      }
      const body = (): unknown => {
        const parsed = parseJson(text);
        if (!parsed.ok) throw new SandboxError(400, 'the request body must be JSON');
        return parsed.value;
      };
      const [status, answer] = await handler({ id, body });
      sendJson(res, status, answer);
    } catch (error) {
      if (!(error instanceof SandboxError)) throw error;
      sendJson(res, error.status, { error: error.message });
    }
    return;
  }
  sendJson(res, 404, {
    error: `no sandbox control at ${pathname}; see purchases, purchases/:id, purchases/:id/pay, pushes, calls, faults`,
  });
}
